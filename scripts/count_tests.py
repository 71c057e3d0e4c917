#!/usr/bin/env python3
"""Counts test cases in bazel-testlogs: prints "N passed, N failed, N skipped".

gtest cases come from each test.xml (a case with result="skipped" is a skip);
a test without cases of its own (sh_test) counts once, as skipped when its log
has a line starting with "SKIPPED:". Exit status 1 if anything failed.
"""
import pathlib
import sys
import xml.etree.ElementTree as ET


def count(testlogs):
    passed = failed = skipped = 0
    for xml_path in sorted(testlogs.rglob("test.xml")):
        log = xml_path.with_name("test.log")
        log_text = log.read_text(errors="replace") if log.exists() else ""
        try:
            root = ET.parse(xml_path).getroot()
        except ET.ParseError:
            failed += 1
            continue
        cases = [c for c in root.iter("testcase") if c.get("status") is not None]
        if not cases:  # Bazel's own wrapper XML (sh_test).
            bad = any(s.get("failures", "0") != "0" or s.get("errors", "0") != "0"
                      for s in root.iter("testsuite"))
            if bad:
                failed += 1
            elif any(line.startswith("SKIPPED:") for line in log_text.splitlines()):
                skipped += 1
            else:
                passed += 1
            continue
        for case in cases:
            if case.find("failure") is not None or case.find("error") is not None:
                failed += 1
            elif case.get("result") == "skipped" or case.find("skipped") is not None:
                skipped += 1
            else:
                passed += 1
    return passed, failed, skipped


def main():
    testlogs = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "bazel-testlogs")
    passed, failed, skipped = count(testlogs.resolve())
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
