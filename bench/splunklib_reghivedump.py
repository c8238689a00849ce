#!/usr/bin/env python3
"""The reghivedump exact rule as a splunklib StreamingCommand (benchmark baseline).

Run with no arguments, an SCP v2 request stream on stdin and replies on stdout,
by a Python that has the `splunk-sdk` package installed (bench/run.py makes a
venv for it).  It flags the same events as reghivedump in exact mode and adds
annotation fields of the same kind to them; every record is passed through.
"""

import re
import sys

from splunklib.searchcommands import Configuration, StreamingCommand, dispatch

SAVE = re.compile(r"save\s+", re.ASCII | re.IGNORECASE)
HIVE = re.compile(r"(?:hklm|hkey_local_machine)\\(?:security|sam|system)",
                  re.ASCII | re.IGNORECASE)
NAMES = ("cmd.exe", "reg.exe")

DETECTION_NAME = "Attempted Credential Dump From Registry via Reg exe"
DETECTION_ID = "14038953-e5f2-4daf-acff-5452062baf03"
MESSAGE = ("Malicious actor is dumping stored credentials from the registry sections SAM, "
           "Security, or System. Operation is performed at the device {dest}, by the "
           "account {user} via command {cmd}")


def first(value):
    if isinstance(value, list):
        return value[0] if value else ""
    return value or ""


@Configuration()
class RegHiveDumpCommand(StreamingCommand):
    def stream(self, records):
        for record in records:
            name = first(record.get("process_name"))
            cmd = first(record.get("process"))
            if (name.lower() in NAMES and cmd and SAVE.search(cmd) is not None
                    and HIVE.search(cmd) is not None):
                dest = first(record.get("dest")) or first(record.get("host"))
                user = first(record.get("user"))
                # add_field registers the names for the chunk's CSV header; keys set
                # directly on a later record than the first would be dropped.
                add = self.add_field
                add(record, "detection_name", DETECTION_NAME)
                add(record, "detection_id", DETECTION_ID)
                add(record, "detection_mode", "exact")
                add(record, "mitre_attack", ["T1003.002", "T1003"])
                add(record, "risk_score", 63)
                add(record, "confidence", 90)
                add(record, "impact", 70)
                add(record, "risk_message", MESSAGE.format(dest=dest, user=user, cmd=cmd))
            yield record


if __name__ == "__main__":
    dispatch(RegHiveDumpCommand, sys.argv, sys.stdin, sys.stdout, __name__)
