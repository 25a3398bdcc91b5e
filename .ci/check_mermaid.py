"""Check that each rendered diagram drew what its mermaid text names: every box and arrow label
(as many times as the text has it) and every arrow. mermaid-cli can succeed yet draw less, say when
a label's quotes end early and the rest of the line is read as something else.
Usage: check_mermaid.py MMD SVG [MMD SVG]...   Exit 1 with the case and what is missing."""
import collections
import html
import re
import sys
import xml.etree.ElementTree as ET

# The label forms `compose2ecs plan --format mermaid` writes: ["box"], [("database")],
# {{"hexagon"}} and |"arrow"|.
LABEL = re.compile(r'\["([^"]*)"\]|\[\("([^"]*)"\)\]|\{\{"([^"]*)"\}\}|\|"([^"]*)"\|')
ARROW = re.compile(r"\s(-->|-\.->)")


def expected(text):
    labels = collections.Counter()
    for match in LABEL.finditer(text):
        labels[html.unescape(next(g for g in match.groups() if g is not None))] += 1
    arrows = sum(1 for line in text.splitlines() if ARROW.search(line))
    return labels, arrows


def drawn(svg_path):
    root = ET.parse(svg_path).getroot()
    texts = collections.Counter()
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] == "style":
            continue
        if element.text and element.text.strip():
            texts[element.text.strip()] += 1
    arrows = sum(
        1
        for element in root.iter()
        if element.tag.rsplit("}", 1)[-1] == "path" and "flowchart-link" in element.get("class", "")
    )
    return texts, arrows


def main(args):
    if not args or len(args) % 2:
        sys.exit(__doc__)
    problems = 0
    for mmd, svg in zip(args[::2], args[1::2]):
        name = mmd.rsplit("/", 1)[-1].removesuffix(".mmd")
        labels, arrows = expected(open(mmd, encoding="utf-8").read())
        texts, drawn_arrows = drawn(svg)
        missing = labels - texts
        if missing or drawn_arrows < arrows or not labels:
            problems += 1
            print(f"FAIL  {name}: labels not drawn {dict(missing)}; arrows {drawn_arrows} of {arrows}")
        else:
            print(f"ok    {name:<32} {sum(labels.values())} labels, {arrows} arrows")
    print(f"{len(args) // 2} diagrams, {problems} failed")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main(sys.argv[1:])
