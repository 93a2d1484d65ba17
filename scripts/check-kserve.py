"""Validates deploy/kserve/*.yaml against the KServe CRDs' openAPIV3Schema (each CRD's served
version), strictly as `kubectl apply --validate=strict` does: a field the schema does not know is
an error (unless the schema keeps unknown fields), as is a wrong type or a missing required field.

    python scripts/check-kserve.py CRD_DIR deploy/kserve/*.yaml"""
import sys

import jsonschema
import yaml


def strict(schema):
    """Closes every object schema that lists its properties, as the API server's strict field
    validation does (x-kubernetes-preserve-unknown-fields keeps one open)."""
    if isinstance(schema, dict):
        if "properties" in schema and "additionalProperties" not in schema \
                and not schema.get("x-kubernetes-preserve-unknown-fields"):
            schema = dict(schema, additionalProperties=False)
        return {k: strict(v) for k, v in schema.items()}
    if isinstance(schema, list):
        return [strict(v) for v in schema]
    return schema


def schemas(crd_dir):
    found = {}
    for name in ("crd_servingruntimes.yaml", "crd_inferenceservices.yaml"):
        for crd in yaml.safe_load_all(open(f"{crd_dir}/{name}")):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for v in crd["spec"]["versions"]:
                if v.get("served"):
                    found[(f"{group}/{v['name']}", kind)] = strict(v["schema"]["openAPIV3Schema"])
    return found


def main():
    crd_dir, files = sys.argv[1], sys.argv[2:]
    known = schemas(crd_dir)
    failed = False
    for path in files:
        for doc in yaml.safe_load_all(open(path)):
            key = (doc.get("apiVersion"), doc.get("kind"))
            schema = known.get(key)
            if schema is None:
                print(f"{path}: no CRD schema for {key}", file=sys.stderr)
                failed = True
                continue
            errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=lambda e: list(e.path))
            for e in errors:
                print(f"{path}: {'/'.join(map(str, e.path))}: {e.message}", file=sys.stderr)
            failed |= bool(errors)
            if not errors:
                print(f"{path}: {key[1]} {doc['metadata']['name']} valid against {key[0]}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
