//! `wire_enum!`: a string enum on the wire, its schema, and the mapping
//! from the domain enum it shows (exhaustive, so a new domain variant is a
//! compile error here, not an unknown string in a client).

/// Declares `enum $name { Variant = "wire", … }` with serde, `ToSchema`,
/// `as_str()` and `From<$domain>` (`Variant <= DomainVariant`).
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident from $domain:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:tt <= $dvariant:ident ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant ),+
        }

        impl $name {
            /// The wire string.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text ),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl From<$domain> for $name {
            fn from(v: $domain) -> Self {
                match v {
                    $( $domain::$dvariant => $name::$variant ),+
                }
            }
        }
    };
}
