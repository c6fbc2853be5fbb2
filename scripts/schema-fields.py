#!/usr/bin/env python3
"""Lists every field of collbench's JSON report from its schema, one line each:
`path  type  description` (docs/output-formats.md shows this list; its test reruns it).

    scripts/schema-fields.py docs/report.schema.json
"""
import json
import sys


def kind(node, defs):
    if "$ref" in node:
        return kind(defs[node["$ref"].split("/")[-1]], defs)
    if "const" in node:
        return f"const {json.dumps(node['const'])}"
    t = node.get("type")
    if isinstance(t, list):
        return "|".join(t)
    if t is None and "enum" in node:
        return "enum"
    return t or "any"


def walk(node, path, defs, seen):
    if "$ref" in node:
        name = node["$ref"].split("/")[-1]
        if name in seen:
            return
        walk(defs[name], path, defs, seen | {name})
        return
    for key, child in node.get("properties", {}).items():
        desc = child.get("description", "")
        if not desc and "$ref" in child:
            desc = defs[child["$ref"].split("/")[-1]].get("description", "")
        print(f"{path}{key}  {kind(child, defs)}  {' '.join(desc.split())}".rstrip())
        walk(child, f"{path}{key}.", defs, seen)
        items = child.get("items")
        if isinstance(items, dict):
            walk(items, f"{path}{key}[].", defs, seen)


schema = json.load(open(sys.argv[1], encoding="utf-8"))
walk(schema, "", schema.get("$defs", {}), frozenset())
