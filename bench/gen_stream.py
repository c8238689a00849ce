#!/usr/bin/env python3
"""Write a splunkd-like SCP v2 request stream for the reghivedump benchmark.

The stream is what splunkd sends to a streaming custom search command that
declared no required_fields: one getinfo chunk, then execute chunks of up to
--chunk-size events, the last one with "finished":true.  Every execute body is
CSV exactly as splunkd writes it: LF rows, a header on every chunk,
"over-eager" quoting (any cell or name holding anything but ASCII letters and
digits is quoted, '"' doubled), all plain columns first and then one __mv_
column per plain column, multivalues as "v1\\nv2" plus "$v1$;$v2$".

Events are Sysmon EventID 1 (process creation) with CIM process fields and an
XML _raw.  About --match-rate of them are reg.exe/cmd.exe hive dumps that the
exact rule flags; a further share are near misses (reg query/export, HKCU,
full-path process names) that exercise the rule without matching.

A JSON sidecar (<out>.json) records the parameters, rows per chunk, byte
counts, the largest chunk and the _serial of every event the exact rule must
flag, so the runner can check each reply.

Standard library only; deterministic for a given set of parameters.
"""

import argparse
import json
import os
import random
import re
import sys
import time
import urllib.parse

XMLNS = "http://schemas.microsoft.com/win/2004/08/events/event"
SYSMON_GUID = "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}"

# The exact rule, as documented for the command (process_name equal to
# cmd.exe/reg.exe after lower-casing, non-empty command line, ASCII-only
# case-insensitive "save\s+" and a HKLM\{SAM,SECURITY,SYSTEM} prefix).
_SAVE = re.compile(r"save\s+", re.ASCII | re.IGNORECASE)
_HIVE = re.compile(r"(?:hklm|hkey_local_machine)\\(?:security|sam|system)",
                   re.ASCII | re.IGNORECASE)


def rule_matches(process_name, process):
    return (process_name.lower() in ("cmd.exe", "reg.exe") and bool(process)
            and _SAVE.search(process) is not None
            and _HIVE.search(process) is not None)


_PLAIN = re.compile(r"[A-Za-z0-9]+\Z")


def cell(value):
    """One CSV cell the way splunkd writes it."""
    if not value or _PLAIN.match(value):
        return value
    return '"' + value.replace('"', '""') + '"'


def mv_cell(values):
    """(plain, __mv_) cells for a multivalue field."""
    if len(values) == 1:
        return cell(values[0]), ""
    plain = "\n".join(values)
    mv = ";".join("$" + v.replace("$", "$$") + "$" for v in values)
    return cell(plain), cell(mv)


# --------------------------------------------------------------------------
# Vocabulary

HOST_COUNT = 400
USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
         "ivan", "judy", "mallory", "niaj", "olivia", "peggy", "rupert",
         "sybil", "trent", "victor", "walter", "svc_backup", "svc_sql",
         "adm_jdoe", "adm_kim"]
DOMAIN = "CORP"
INDEXERS = ["idx01", "idx02", "idx03", "idx04"]
DIRS = [r"C:\Windows\System32", r"C:\Windows\SysWOW64",
        r"C:\Program Files\Google\Chrome\Application",
        r"C:\Program Files\Microsoft Office\root\Office16",
        r"C:\Program Files\Git\cmd", r"C:\Windows\System32\WindowsPowerShell\v1.0",
        r"C:\Program Files (x86)\Microsoft\Edge\Application",
        r"C:\Windows\System32\wbem", r"C:\ProgramData\chocolatey\bin"]
SVCHOST_GROUPS = [("netsvcs", ["gpsvc", "Winmgmt", "UserManager", "Schedule",
                               "WpnService", "CertPropSvc", "BITS", "wuauserv"]),
                  ("LocalServiceNetworkRestricted", ["Dhcp", "EventLog", "lmhosts"]),
                  ("wsappx", ["AppXSvc", "ClipSVC"]),
                  ("NetworkService", ["Dnscache", "CryptSvc", "NlaSvc"]),
                  ("LocalSystemNetworkRestricted", ["TrkWks", "SysMain", "StorSvc"])]
SITES = ["https://intranet.corp.example.com/", "https://mail.example.com/owa/",
         "https://github.com/", "https://docs.example.org/guide?id=",
         "https://portal.azure.com/#home", "https://www.example.net/search?q="]
DOCS = ["Q3 forecast.xlsx", "board deck v7.pptx", "contract - signed.docx",
        "notes.txt", "invoice_10442.pdf", "roadmap 2025.docx"]
HIVES = ["sam", "SAM", "system", "SYSTEM", "security", "SECURITY", "Sam",
         "System", "Security"]


def rand_guid(rng):
    return "{%08x-%04x-%04x-%04x-%012x}" % (
        rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(16),
        rng.getrandbits(16), rng.getrandbits(48))


def benign_process(rng, user):
    """(image, command line, parent image, parent command line) of an ordinary
    process start."""
    k = rng.randrange(22)
    sys32 = r"C:\Windows\System32"
    if k < 4:
        grp, svcs = rng.choice(SVCHOST_GROUPS)
        img = sys32 + r"\svchost.exe"
        cmd = "%s -k %s -p -s %s" % (img, grp, rng.choice(svcs))
        return img, cmd, sys32 + r"\services.exe", sys32 + r"\services.exe"
    if k < 6:
        img = r"C:\Program Files\Google\Chrome\Application\chrome.exe"
        cmd = ('"%s" --type=renderer --lang=en-US --renderer-client-id=%d '
               '--mojo-platform-channel-handle=%d /prefetch:1'
               % (img, rng.randrange(5, 900), rng.randrange(2000, 9000)))
        return img, cmd, img, '"%s" %s' % (img, rng.choice(SITES))
    if k < 9:
        img = sys32 + r"\conhost.exe"
        return img, r"\??\C:\Windows\system32\conhost.exe 0xffffffff -ForceV1", \
            sys32 + r"\cmd.exe", '"C:\\Windows\\system32\\cmd.exe" '
    if k < 11:
        img = sys32 + r"\WindowsPowerShell\v1.0\powershell.exe"
        cmd = rng.choice([
            '"%s" -NoProfile -ExecutionPolicy Bypass -File "C:\\ProgramData\\Scripts\\inventory-%d.ps1"',
            '"%s" -NoLogo -NonInteractive -Command "Get-Service | Where-Object {$_.Status -eq \'Running\'} | Export-Csv C:\\Temp\\svc%d.csv"',
            '%s -c "Get-ChildItem -Path $env:TEMP -Recurse | Measure-Object -Property Length -Sum; exit %d"',
        ]) % (img, rng.randrange(1000))
        return img, cmd, r"C:\Windows\explorer.exe", r"C:\Windows\Explorer.EXE"
    if k < 13:
        img = sys32 + r"\cmd.exe"
        cmd = rng.choice([
            r'C:\Windows\system32\cmd.exe /c "dir /s /b C:\Users\%(u)s\Documents > C:\Temp\list%(n)d.txt"',
            r'cmd.exe /c echo %(u)s %(n)d >> C:\ProgramData\agent\heartbeat.log',
            r'"C:\Windows\system32\cmd.exe" /c ping -n 1 host%(n)03d.corp.example.com > nul && echo %(u)s',
        ]) % {"u": user, "n": rng.randrange(100)}
        return img, cmd, r"C:\Windows\explorer.exe", r"C:\Windows\Explorer.EXE"
    if k < 14:
        img = sys32 + r"\reg.exe"
        cmd = rng.choice([
            r"reg query HKLM\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters /v Hostname",
            r"reg  query HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run",
            r'reg export HKCU\Software\Vendor\App%d "C:\Users\Public\app-backup.reg" /y',
            r"reg save HKCU\Software\Vendor\Settings%d C:\Temp\settings.hiv /y",
            r"REG ADD HKLM\SOFTWARE\Policies\Vendor /v Level%d /t REG_DWORD /d 1 /f",
        ])
        if "%d" in cmd:
            cmd = cmd % rng.randrange(100)
        return img, cmd, sys32 + r"\cmd.exe", r'C:\Windows\system32\cmd.exe /c "C:\ProgramData\Scripts\maint.cmd"'
    if k < 15:
        img = r"C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE"
        cmd = '"%s" /n "C:\\Users\\%s\\Documents\\%s" /o ""' % (img, user, rng.choice(DOCS))
        return img, cmd, r"C:\Windows\explorer.exe", r"C:\Windows\Explorer.EXE"
    if k < 16:
        img = r"C:\Program Files\Git\mingw64\bin\git.exe"
        cmd = '"%s" -c core.quotepath=false fetch --prune origin refs/heads/feature-%d' % (img, rng.randrange(9999))
        return img, cmd, r"C:\Program Files\Microsoft VS Code\Code.exe", '"C:\\Program Files\\Microsoft VS Code\\Code.exe" '
    if k < 17:
        img = sys32 + r"\rundll32.exe"
        cmd = r"C:\Windows\system32\rundll32.exe C:\Windows\system32\inetcpl.cpl,ClearMyTracksByProcess Flags:%d WinX:0 WinY:0" % rng.randrange(1, 4096)
        return img, cmd, sys32 + r"\svchost.exe", sys32 + r"\svchost.exe -k DcomLaunch -p"
    if k < 18:
        img = sys32 + r"\wbem\WmiPrvSE.exe"
        return img, img + " -secured -Embedding", sys32 + r"\svchost.exe", sys32 + r"\svchost.exe -k DcomLaunch -p"
    if k < 19:
        img = sys32 + r"\taskhostw.exe"
        return img, "taskhostw.exe " + rng.choice(["KEYROAMING", "ExploitGuardPolicy", "$(Arg0)", "SYSTEM"]), \
            sys32 + r"\svchost.exe", sys32 + r"\svchost.exe -k netsvcs -p -s Schedule"
    if k < 20:
        img = sys32 + r"\msiexec.exe"
        return img, r'C:\Windows\system32\msiexec.exe /i "C:\Windows\ccmcache\%x\setup.msi" /qn REBOOT=ReallySuppress' % rng.getrandbits(16), \
            r"C:\Windows\CCM\CcmExec.exe", r"C:\Windows\CCM\CcmExec.exe"
    if k < 21:
        img = sys32 + r"\SearchProtocolHost.exe"
        cmd = ('"%s" Global\\UsGthrFltPipeMssGthrPipe%d_ Global\\UsGthrCtrlFltPipeMssGthrPipe%d 1 '
               '-2147483646 "Software\\Microsoft\\Windows Search"' % (img, rng.randrange(100), rng.randrange(100)))
        return img, cmd, sys32 + r"\SearchIndexer.exe", sys32 + r"\SearchIndexer.exe /Embedding"
    img = r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe"
    cmd = '"%s" --single-argument %s%d' % (img, rng.choice(SITES), rng.randrange(10**6))
    return img, cmd, r"C:\Windows\explorer.exe", r"C:\Windows\Explorer.EXE"


def near_miss(rng):
    """Looks like a hive dump but the exact rule must not flag it."""
    hive = rng.choice(HIVES)
    k = rng.randrange(5)
    if k == 0:   # full path in process_name
        return (r"C:\Windows\System32\reg.exe", "C:\\Windows\\System32\\reg.exe",
                r"reg save HKLM\%s C:\Windows\Temp\%s.save" % (hive, hive.lower()))
    if k == 1:   # export, not save
        return ("reg.exe", r"C:\Windows\System32\reg.exe",
                r"reg export HKLM\%s C:\Windows\Temp\%s.reg" % (hive, hive.lower()))
    if k == 2:   # save quoted
        return ("reg.exe", r"C:\Windows\System32\reg.exe",
                r'reg "save" HKLM\%s C:\Windows\Temp\%s.save' % (hive, hive.lower()))
    if k == 3:   # other program
        return ("powershell.exe", r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
                r'powershell.exe -c "reg save HKLM\%s C:\Windows\Temp\x.save"' % hive)
    return ("reg.exe", r"C:\Windows\System32\reg.exe",   # double backslash
            r"reg save HKLM\\%s C:\Windows\Temp\%s.save" % (hive, hive.lower()))


def hive_dump(rng):
    """(process_name, image, command line) of a dump the exact rule flags."""
    hive = rng.choice(HIVES)
    low = hive.lower()
    k = rng.randrange(8)
    if k == 0:
        return "reg.exe", r"C:\Windows\System32\reg.exe", r"reg save HKLM\%s C:\Windows\Temp\%s.save" % (hive, low)
    if k == 1:
        return "reg.exe", r"C:\Windows\System32\reg.exe", r"reg.exe save hklm\%s C:\%s.save" % (low, low)
    if k == 2:
        return "REG.exe", r"C:\Windows\System32\reg.exe", r"REG.exe SAVE HKLM\%s %s /Y" % (hive.upper(), hive.upper())
    if k == 3:
        return "reg.exe", r"C:\Windows\System32\reg.exe", r'"C:\Windows\system32\reg.exe" save HKLM\%s C:\Users\Public\%s.hiv /y' % (hive, low)
    if k == 4:
        return "cmd.exe", r"C:\Windows\System32\cmd.exe", r"cmd.exe /c reg save HKLM\%s C:\windows\temp\%s && reg save HKLM\SYSTEM C:\windows\temp\sys" % (hive, low)
    if k == 5:
        return "reg.exe", r"C:\Windows\System32\reg.exe", r"reg  save HKEY_LOCAL_MACHINE\%s C:\ProgramData\%s.dat" % (hive, low)
    if k == 6:
        return "reg.exe", r"C:\Windows\System32\reg.exe", "reg save\tHKLM\\%s %%TEMP%%\\%s" % (hive, low)
    return "CMD.EXE", r"C:\Windows\System32\cmd.exe", r"C:\Windows\system32\cmd.exe /Q /c echo reg save HKLM\%s C:\Windows\Temp\%s.save ^> \\127.0.0.1\C$\__output 2^>^&1" % (hive, low)


# --------------------------------------------------------------------------

FULL_FIELDS = ["_raw", "_serial", "_si", "_time", "CommandLine", "Computer",
               "EventCode", "Image", "ParentImage", "User", "dest", "eventtype",
               "host", "index", "original_file_name", "parent_process_name",
               "process", "process_id", "process_name", "source", "sourcetype",
               "splunk_server", "tag", "user"]
COMPACT_FIELDS = ["_raw", "_serial", "_si", "_time", "host", "process", "process_name"]
MV_FIELDS = {"_si", "eventtype", "tag"}


def make_header(fields):
    names = fields + ["__mv_" + f for f in fields]
    return ",".join(cell(n) for n in names) + "\n"


class Event:
    __slots__ = ("serial", "t", "host", "user", "process_name", "image",
                 "cmd", "pimage", "pcmd", "pid", "ppid", "guid", "pguid",
                 "match", "near")


def make_event(rng, serial, t, match_rate, near_rate, max_cmd=None):
    e = Event()
    e.serial = serial
    e.t = t
    e.host = "WS-%04d" % rng.randrange(HOST_COUNT)
    e.user = rng.choice(USERS)
    r = rng.random()
    e.match = r < match_rate
    e.near = (not e.match) and r < match_rate + near_rate
    if e.match:
        e.process_name, e.image, e.cmd = hive_dump(rng)
        e.pimage = r"C:\Windows\System32\cmd.exe"
        e.pcmd = '"C:\\Windows\\system32\\cmd.exe" '
    elif e.near:
        e.process_name, e.image, e.cmd = near_miss(rng)
        e.pimage = r"C:\Windows\System32\cmd.exe"
        e.pcmd = '"C:\\Windows\\system32\\cmd.exe" '
    else:
        e.image, e.cmd, e.pimage, e.pcmd = benign_process(rng, e.user)
        while max_cmd is not None and len(e.cmd) > max_cmd:
            e.image, e.cmd, e.pimage, e.pcmd = benign_process(rng, e.user)
        e.process_name = e.image.rsplit("\\", 1)[-1]
    e.pid = rng.randrange(400, 65000, 4)
    e.ppid = rng.randrange(400, 65000, 4)
    e.guid = rand_guid(rng)
    e.pguid = rand_guid(rng)
    return e


def iso(t):
    s = int(t)
    ms = int(round((t - s) * 1000)) % 1000
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(s)) + ".%03d" % ms


def xml_escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def raw_full(e, rng, pad):
    ts = iso(e.t)
    fqdn = e.host + ".corp.example.com"
    x = ("<Event xmlns='%s'><System><Provider Name='Microsoft-Windows-Sysmon' Guid='%s'/>"
         "<EventID>1</EventID><Level>4</Level><Task>1</Task>"
         "<Keywords>0x8000000000000000</Keywords><TimeCreated SystemTime='%sZ'/>"
         "<EventRecordID>%d</EventRecordID><Execution ProcessID='3044' ThreadID='%d'/>"
         "<Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>%s</Computer>"
         "<Security UserID='S-1-5-18'/></System><EventData>"
         "<Data Name='ProcessId'>%d</Data><Data Name='Image'>%s</Data>"
         "<Data Name='CommandLine'>%s</Data><Data Name='User'>%s\\%s</Data>"
         % (XMLNS, SYSMON_GUID, ts.replace(" ", "T"), e.serial + 100000, 4000 + e.pid % 97,
            fqdn, e.pid, xml_escape(e.image), xml_escape(e.cmd), DOMAIN, e.user))
    if pad > 0:
        x += "<Data Name='ParentCommandLine'>%s</Data>" % padding(e, rng, pad)
    return x + "</EventData></Event>"


def raw_compact(e, rng, pad):
    x = "EventCode=1 pid=%d" % e.pid
    if pad > 0:
        x += " %s" % padding(e, rng, pad)
    return x


_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def padding(e, rng, n):
    """n characters of a realistic-looking long parent command line."""
    head = "powershell.exe -NoProfile -EncodedCommand "
    if n <= len(head):
        return head[:n]
    body = n - len(head)
    # pseudo base64 built from a few random 64-char blocks (cheap, not compressible to nothing)
    blocks = "".join(rng.choice(_B64) for _ in range(64))
    return head + (blocks * (body // 64 + 1))[:body]


def build_row(e, fields, compact, rng, pad, chunk_idx=0):
    raw = (raw_compact if compact else raw_full)(e, rng, pad)
    idx = "sysmon"
    ts = "%.3f" % e.t
    dom_user = "%s\\%s" % (DOMAIN, e.user)
    fqdn = e.host + ".corp.example.com"
    if compact:
        si = INDEXERS[e.serial % len(INDEXERS)]
        return '%s,%d,"%s\n%s",%s,%s,%s,%s,,,"$%s$;$%s$",,,,\n' % (
            cell(raw), e.serial, si, idx, cell(ts), cell(e.host), cell(e.cmd),
            cell(e.process_name), si, idx)
    v = {
        "_raw": cell(raw),
        "_serial": str(e.serial),
        "_time": cell(ts),
        "dest": cell(fqdn),
        "host": cell(e.host),
        "index": idx,
        "process": cell(e.cmd),
        "process_name": cell(e.process_name),
        "user": cell(e.user),
    }
    mv = {}
    v["_si"], mv["_si"] = mv_cell([INDEXERS[e.serial % len(INDEXERS)], idx])
    if not compact:
        v.update({
            "CommandLine": v["process"],
            "Computer": v["dest"],
            "EventCode": "1",
            "Image": cell(e.image),
            "ParentImage": cell(e.pimage),
            "User": cell(dom_user),
            "original_file_name": cell(e.image.rsplit("\\", 1)[-1] if not e.match else "reg.exe"),
            "parent_process_name": cell(e.pimage.rsplit("\\", 1)[-1]),
            "process_id": str(e.pid),
            "source": cell("XmlWinEventLog:Microsoft-Windows-Sysmon/Operational"),
            "sourcetype": cell("XmlWinEventLog"),
            "splunk_server": INDEXERS[e.serial % len(INDEXERS)],
        })
        v["eventtype"], mv["eventtype"] = mv_cell(
            ["ms_sysmon_process", "process_start"])
        v["tag"], mv["tag"] = mv_cell(["process", "report", "execute"])
    v["_chunked_idx"] = str(chunk_idx)
    plain = ",".join(v[f] for f in fields)
    mvs = ",".join(mv.get(f, "") for f in fields)
    return plain + "," + mvs + "\n"


def getinfo_chunk(command, events):
    search = ("litsearch index=sysmon EventCode=1 | reghivedump | fields keepcolorder=t "
              '"*" "_bkt" "_cd" "_si" "host" "index" "linecount" "source" "sourcetype" "splunk_server"')
    meta = {"action": "getinfo", "preview": False, "streaming_command_will_restart": False,
            "searchinfo": {
                "args": [], "raw_args": [],
                "dispatch_dir": "/opt/splunk/var/run/splunk/dispatch/remote_sh01_1714567890.%d" % events,
                "sid": "remote_sh01_1714567890.%d" % events,
                "app": "search", "owner": "admin", "username": "admin",
                "session_key": "Splunk 9fM1^bench^LpX0dPq2Rz7tY4vWc6sA8eHkJn3mGfQ5",
                "splunkd_uri": "https://127.0.0.1:8089", "splunk_version": "9.3.1",
                "search": urllib.parse.quote(search, safe=""),
                "earliest_time": "0", "latest_time": "0",
                "command": command, "maxresultrows": 50000}}
    m = json.dumps(meta, separators=(",", ":")).encode()
    return b"chunked 1.0,%d,0\n" % len(m) + m


def execute_chunk(body, finished):
    m = b'{"action":"execute","finished":%s}' % (b"true" if finished else b"false")
    return b"chunked 1.0,%d,%d\n" % (len(m), len(body)) + m + body


def generate(out, events, chunk_size, bytes_per_event, seed, match_rate, near_rate,
             command="reghivedump", progress=False, only_fields=None):
    """only_fields: the field names a command declared in required_fields; the
    stream then carries those of them that the events have, plus _chunked_idx,
    as splunkd sends them to such a command."""
    rng = random.Random(seed)
    compact = bytes_per_event is not None and bytes_per_event < 600
    fields = COMPACT_FIELDS if compact else FULL_FIELDS
    if only_fields is not None:
        fields = [f for f in fields if f in only_fields] + ["_chunked_idx"]
    header = make_header(fields).encode()
    t0 = 1714567890.0
    sidecar = {"format": 1, "events": events, "chunk_size": chunk_size,
               "bytes_per_event_target": bytes_per_event, "seed": seed,
               "match_rate": match_rate, "near_rate": near_rate,
               "profile": ("compact" if compact else "full") + ("-required" if only_fields else ""),
               "field_names": fields,
               "fields": len(fields),
               "chunks": [], "match_serials": []}
    tmp = out + ".tmp"
    largest = 0
    body_bytes = 0
    total = 0
    with open(tmp, "wb") as f:
        g = getinfo_chunk(command, events)
        f.write(g)
        total += len(g)
        done = 0
        nchunks = max(1, -(-events // chunk_size))
        for ci in range(nchunks):
            n = min(chunk_size, events - done)
            rows = []
            for i in range(n):
                serial = done + i
                e = make_event(rng, serial, t0 + serial * 0.013, match_rate, near_rate,
                               max_cmd=60 if compact else None)
                if rule_matches(e.process_name, e.cmd) != e.match:
                    raise AssertionError("generator/rule disagree on %r %r" % (e.process_name, e.cmd))
                if e.match:
                    sidecar["match_serials"].append(serial)
                pad = 0
                if bytes_per_event is not None:
                    target = int(bytes_per_event * (0.8 + 0.4 * rng.random()))
                    base = build_row(e, fields, compact, rng, 0, i)
                    # padding element overhead ('<Data Name=''ParentCommandLine''>' ... or <P></P>)
                    over = 1 if compact else 46
                    pad = target - len(base.encode()) - over
                    if pad <= 0:
                        rows.append(base)
                        continue
                rows.append(build_row(e, fields, compact, rng, pad, i))
            body = header + "".join(rows).encode()
            done += n
            c = execute_chunk(body, ci == nchunks - 1)
            f.write(c)
            total += len(c)
            largest = max(largest, len(c))
            body_bytes += len(body) - len(header)
            sidecar["chunks"].append(n)
            if progress:
                print("  chunk %d/%d (%d events, %.1f MB)" % (ci + 1, nchunks, n, len(c) / 1e6),
                      file=sys.stderr, flush=True)
    sidecar["bytes"] = total
    sidecar["largest_chunk_bytes"] = largest
    sidecar["row_bytes_mean"] = body_bytes / events if events else 0
    sidecar["matches"] = len(sidecar["match_serials"])
    with open(out + ".json.tmp", "w") as j:
        json.dump(sidecar, j)
    os.replace(tmp, out)
    os.replace(out + ".json.tmp", out + ".json")
    return sidecar


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="output file (a JSON sidecar is written next to it)")
    ap.add_argument("--events", type=int, default=100000)
    ap.add_argument("--chunk-size", type=int, default=50000)
    ap.add_argument("--bytes-per-event", type=int, default=None,
                    help="mean CSV bytes per event row (default: natural size, ~700-byte _raw; "
                         "below 600 a compact field set is used)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--match-rate", type=float, default=0.001)
    ap.add_argument("--near-rate", type=float, default=0.002)
    ap.add_argument("--only-fields", metavar="A,B,...",
                    help="send only these fields (as declared in a command's required_fields) "
                         "plus _chunked_idx")
    ap.add_argument("--progress", action="store_true")
    a = ap.parse_args(argv)
    s = generate(a.out, a.events, a.chunk_size, a.bytes_per_event, a.seed,
                 a.match_rate, a.near_rate, progress=a.progress,
                 only_fields=a.only_fields.split(",") if a.only_fields else None)
    print("%s: %d events in %d chunks, %d bytes (%.0f B/event row), largest chunk %d bytes, %d matches"
          % (a.out, s["events"], len(s["chunks"]), s["bytes"], s["row_bytes_mean"],
             s["largest_chunk_bytes"], s["matches"]))


if __name__ == "__main__":
    main()
