"""Validates pain.001 files against the official ISO 20022 XSD that the
sepaxml package ships. Usage: validate_pain001.py FILE... (exit 0 = all
valid; exit 3 = xmlschema/sepaxml missing)."""
import os
import sys

try:
    import sepaxml
    import xmlschema
except ImportError as e:  # the Rust test decides whether this may skip
    print(f"missing python package: {e}", file=sys.stderr)
    sys.exit(3)

xsd = os.path.join(os.path.dirname(sepaxml.__file__), "schemas", "pain.001.001.09.xsd")
schema = xmlschema.XMLSchema(xsd)
bad = 0
for path in sys.argv[1:]:
    errors = list(schema.iter_errors(path))
    for err in errors:
        print(f"{path}: {err.reason} at {err.path}", file=sys.stderr)
    bad += bool(errors)
print(f"{len(sys.argv) - 1 - bad} valid, {bad} invalid against {os.path.basename(xsd)}")
sys.exit(1 if bad else 0)
