"""Runs a module's unittest cases and writes Bazel's XML_OUTPUT_FILE in the
shape scripts/count_tests.py counts (gtest's): one <testcase status="run">
per case, result="skipped" for a skip, a <failure> child for a failure or
an error. Without it Bazel's own XML would count the whole file as one test.
"""
import sys
import time
import unittest
import xml.etree.ElementTree as ET
from os import environ
from typing import List, Optional, Tuple


class _Result(unittest.TextTestResult):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # (test id, seconds, outcome, message); outcome: ok, skipped, failure.
        self.cases: List[Tuple[str, float, str, str]] = []
        self._start = 0.0

    def startTest(self, test: unittest.TestCase) -> None:
        self._start = time.monotonic()
        super().startTest(test)

    def _record(self, test: unittest.TestCase, outcome: str, message: str = "") -> None:
        self.cases.append((test.id(), time.monotonic() - self._start, outcome, message))

    def addSuccess(self, test):
        super().addSuccess(test)
        self._record(test, "ok")

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        # count_tests.py and a reader of test.log both see it.
        print(f"SKIPPED: {test.id()}: {reason}", file=sys.stderr)
        self._record(test, "skipped", reason)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._record(test, "failure", self._exc_info_to_string(err, test))

    def addError(self, test, err):
        super().addError(test, err)
        self._record(test, "failure", self._exc_info_to_string(err, test))

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._record(test, "ok")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._record(test, "failure", "unexpected success")


def _write_xml(path: str, cases: List[Tuple[str, float, str, str]]) -> None:
    suites = ET.Element("testsuites")
    by_class: dict = {}
    for test_id, seconds, outcome, message in cases:
        classname, _, name = test_id.rpartition(".")
        by_class.setdefault(classname, []).append((name, seconds, outcome, message))
    for classname, members in by_class.items():
        suite = ET.SubElement(suites, "testsuite", name=classname, tests=str(len(members)),
                              failures=str(sum(m[2] == "failure" for m in members)),
                              errors="0")
        for name, seconds, outcome, message in members:
            case = ET.SubElement(suite, "testcase", name=name, classname=classname,
                                 status="run", time=f"{seconds:.3f}",
                                 result="skipped" if outcome == "skipped" else "completed")
            if outcome == "failure":
                ET.SubElement(case, "failure", message=message.splitlines()[-1]).text = message
            elif outcome == "skipped":
                ET.SubElement(case, "skipped", message=message)
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)


def main(module: Optional[str] = "__main__") -> None:
    """unittest.main() for Bazel: runs `module`'s tests, writes the XML,
    exits 1 if anything failed, or if there was no test at all."""
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[module])
    runner = unittest.TextTestRunner(resultclass=_Result, verbosity=2)
    result = runner.run(suite)
    if "XML_OUTPUT_FILE" in environ:
        _write_xml(environ["XML_OUTPUT_FILE"], result.cases)
    sys.exit(0 if result.wasSuccessful() and result.testsRun > 0 else 1)
