//! RFC 8785 (JCS) conformance of `canonical_json`, and its properties:
//! idempotent and independent of the order keys were written in.

use offtake_signing::canonical_json;
use proptest::prelude::*;
use serde_json::Value;

fn canon_text(json: &str) -> String {
    let value: Value = serde_json::from_str(json).expect("test input is JSON");
    String::from_utf8(canonical_json(&value).expect("canonicalises")).expect("utf-8")
}

fn canon_f64(bits: u64) -> String {
    let value = Value::from(f64::from_bits(bits));
    String::from_utf8(canonical_json(&value).expect("canonicalises")).expect("utf-8")
}

/// RFC 8785 section 3.2.2 (the full example of the "Sorting of Object Properties" and
/// "Serialization of Primitive Data Types" sections).
#[test]
fn rfc8785_section_3_2_2_example() {
    let input = r#"{
        "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
        "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
        "literals": [null, true, false]
    }"#;
    assert_eq!(
        canon_text(input),
        r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
    );
}

/// RFC 8785 section 3.2.3: properties are sorted by their UTF-16 code units,
/// so the emoji (surrogate pair D83D DE00) sorts before U+FB33, although
/// its code point (and its UTF-8) is larger.
#[test]
fn rfc8785_sorts_non_ascii_keys_by_utf16_code_units() {
    let input = r#"{
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\ud83d\ude00": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis"
    }"#;
    let expected = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}";
    assert_eq!(canon_text(input), expected);
}

/// RFC 8785 appendix B: IEEE 754 doubles and their ES6 serialisation.
#[test]
fn rfc8785_appendix_b_number_serialisation() {
    let cases: &[(u64, &str)] = &[
        (0x0000000000000000, "0"),
        (0x8000000000000000, "0"),
        (0x0000000000000001, "5e-324"),
        (0x8000000000000001, "-5e-324"),
        (0x7fefffffffffffff, "1.7976931348623157e+308"),
        (0xffefffffffffffff, "-1.7976931348623157e+308"),
        (0x4340000000000000, "9007199254740992"),
        (0xc340000000000000, "-9007199254740992"),
        (0x4430000000000000, "295147905179352830000"),
        (0x44b52d02c7e14af5, "9.999999999999997e+22"),
        (0x44b52d02c7e14af6, "1e+23"),
        (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
        (0x444b1ae4d6e2ef4e, "999999999999999700000"),
        (0x444b1ae4d6e2ef4f, "999999999999999900000"),
        (0x444b1ae4d6e2ef50, "1e+21"),
        (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
        (0x3eb0c6f7a0b5ed8d, "0.000001"),
        (0x41b3de4355555553, "333333333.3333332"),
        (0x41b3de4355555554, "333333333.33333325"),
        (0x41b3de4355555555, "333333333.3333333"),
        (0x41b3de4355555556, "333333333.3333334"),
        (0x41b3de4355555557, "333333333.33333343"),
        (0xbecbf647612f3696, "-0.0000033333333333333333"),
        (0x43143ff3c1cb0959, "1424953923781206.2"),
    ];
    for (bits, expected) in cases {
        assert_eq!(canon_f64(*bits), *expected, "bits {bits:#018x}");
    }
}

/// The same numbers written as JSON text (exponents, trailing zeros, -0).
#[test]
fn number_text_is_normalised_like_es6() {
    let cases: &[(&str, &str)] = &[
        ("1e21", "1e+21"),
        ("1E21", "1e+21"),
        ("1e20", "100000000000000000000"),
        ("1E-7", "1e-7"),
        ("0.000001", "0.000001"),
        ("-0", "0"),
        ("-0.0", "0"),
        ("4.50", "4.5"),
        ("2e-3", "0.002"),
        ("10", "10"),
        ("1.0", "1"),
        ("-1.5e2", "-150"),
    ];
    for (input, expected) in cases {
        assert_eq!(canon_text(input), *expected, "input {input}");
    }
}

#[test]
fn whitespace_and_escapes_are_minimal() {
    assert_eq!(
        canon_text("{ \"b\" : [ 1 , 2 ] ,\n \"a\" : \"\\u00e9\\t\\u001f\" }"),
        "{\"a\":\"é\\t\\u001f\",\"b\":[1,2]}"
    );
    // U+2028/2029 and "/" are not escaped by JCS (ES6 JSON.stringify).
    assert_eq!(canon_text(r#""\u2028\/""#), "\"\u{2028}/\"");
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-(1i64 << 53)..=(1i64 << 53)).prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// JSON text of a value with every object's members written in the order
/// `order` (a permutation seed) picks, not sorted.
fn write_shuffled(value: &Value, seed: &mut u64, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            // Deterministic Fisher-Yates with a tiny LCG: proptest controls the seed.
            for i in (1..entries.len()).rev() {
                *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let j = (*seed >> 33) as usize % (i + 1);
                entries.swap(i, j);
            }
            out.push('{');
            for (n, (k, v)) in entries.into_iter().enumerate() {
                if n > 0 {
                    out.push_str(" , ");
                }
                out.push_str(&serde_json::to_string(k).expect("string"));
                out.push_str(" : ");
                write_shuffled(v, seed, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push_str("[ ");
            for (n, v) in items.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                write_shuffled(v, seed, out);
            }
            out.push(']');
        }
        other => out.push_str(&serde_json::to_string(other).expect("scalar")),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    /// canon(parse(canon(x))) == canon(x)
    #[test]
    fn canonicalisation_is_idempotent(value in arb_json()) {
        let once = canonical_json(&value).expect("canonicalises");
        let reparsed: Value = serde_json::from_slice(&once).expect("canonical output is JSON");
        let twice = canonical_json(&reparsed).expect("canonicalises");
        prop_assert_eq!(&once, &twice);
    }

    /// Key order and whitespace in the source text do not change the canonical bytes.
    #[test]
    fn canonicalisation_ignores_key_order(value in arb_json(), seed in any::<u64>()) {
        let mut text = String::new();
        let mut s = seed;
        write_shuffled(&value, &mut s, &mut text);
        let shuffled: Value = serde_json::from_str(&text).expect("shuffled text is JSON");
        prop_assert_eq!(canonical_json(&shuffled).expect("canonicalises"), canonical_json(&value).expect("canonicalises"));
    }
}
