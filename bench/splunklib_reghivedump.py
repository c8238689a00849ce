#!/usr/bin/env python3
"""The reghivedump exact rule as a splunklib StreamingCommand (benchmark baseline).

Run with no arguments, an SCP v2 request stream on stdin and replies on stdout,
by a Python that has the `splunk-sdk` package installed (bench/run.py makes a
venv for it).  It flags the same events as reghivedump in exact mode, reads the
same fields (first non-empty of a list per role) and adds the same 17
annotation fields to them; every record is passed through.
"""

import re
import sys

from splunklib.searchcommands import Configuration, StreamingCommand, dispatch

SAVE = re.compile(r"save\s", re.ASCII | re.IGNORECASE)
HIVE = re.compile(r"(?:hklm|hkey_local_machine)\\(security|sam|system)",
                  re.ASCII | re.IGNORECASE)
NAMES = ("cmd.exe", "reg.exe")
HIVE_ORDER = ("SAM", "SECURITY", "SYSTEM")

# Where each value is read from: the first non-empty field wins (as in reghivedump).
PROCESS_NAME = ("process_name",)
IMAGE = ("Image", "NewProcessName", "process_path")
CMD_LINE = ("process", "cmd_line", "CommandLine", "Process_Command_Line")
DEST = ("dest_device_id", "dest", "Computer", "host")
USER = ("dest_user_id", "user", "User", "SubjectUserName")

DETECTION_NAME = "Attempted Credential Dump From Registry via Reg exe"
DETECTION_ID = "14038953-e5f2-4daf-acff-5452062baf03"
MESSAGE = ("Malicious actor is dumping stored credentials from the registry sections SAM, "
           "Security, or System. Operation is performed at the device {dest}, by the "
           "account {user} via command {cmd}")


def first(record, names):
    for name in names:
        value = record.get(name)
        if isinstance(value, list):
            value = value[0] if value else ""
        if value:
            return value
    return None


def process_name(record):
    name = first(record, PROCESS_NAME)
    if name is None:
        image = first(record, IMAGE)
        if image is not None:
            name = image.replace("/", "\\").rsplit("\\", 1)[-1]
    return name


@Configuration()
class RegHiveDumpCommand(StreamingCommand):
    def stream(self, records):
        add = self.add_field
        for record in records:
            name = process_name(record)
            if name is None or name.lower() not in NAMES:
                yield record
                continue
            cmd = first(record, CMD_LINE)
            if not cmd or SAVE.search(cmd) is None:
                yield record
                continue
            found = {m.group(1).upper() for m in HIVE.finditer(cmd)}
            if not found:
                yield record
                continue
            hives = [h for h in HIVE_ORDER if h in found]
            dest = first(record, DEST)
            user = first(record, USER)
            risk_objects, risk_types = [], []
            for value, kind in ((dest, "system"), (user, "user")):
                if value:
                    risk_objects.append(value)
                    risk_types.append(kind)
            threats = [cmd, name] + ["HKLM\\" + h for h in hives]
            threat_types = ["command", "process_name"] + ["registry_path"] * len(hives)
            # add_field registers the names for the chunk's CSV header: keys set
            # directly on a record after the first would be dropped by splunklib.
            add(record, "detection_name", DETECTION_NAME)
            add(record, "detection_id", DETECTION_ID)
            add(record, "detection_variant", "exact")
            add(record, "reg_hive", hives)
            add(record, "mitre_attack", ["T1003"])
            add(record, "mitre_tactic", "Credential Access")
            add(record, "mitre_tactic_id", "TA0006")
            add(record, "kill_chain_phase", "Exploitation")
            add(record, "analytic_story", "Credential Dumping")
            add(record, "risk_score", 63)
            add(record, "risk_impact", 70)
            add(record, "risk_confidence", 90)
            add(record, "risk_message", MESSAGE.format(dest=dest or "unknown",
                                                       user=user or "unknown", cmd=cmd))
            add(record, "risk_object", risk_objects)
            add(record, "risk_object_type", risk_types)
            add(record, "threat_object", threats)
            add(record, "threat_object_type", threat_types)
            yield record


if __name__ == "__main__":
    dispatch(RegHiveDumpCommand, sys.argv, sys.stdin, sys.stdout, __name__)
