"""A stand-in for ClamAV's clamdscan in tests: the same exit codes, decided by the file's content.

    python tests/support/stub_scanner.py PATH

exits 1 ("infected") when the file holds the EICAR anti-virus test string, 2 ("error") when it
holds STUB-SCANNER-FAIL or when the environment variable STUB_SCANNER_FAIL_FILE names a file that
exists (a test creates and removes it to make the scanner fail and then recover), else 0 ("clean").
While the file named by STUB_SCANNER_SLOW_FILE exists (at most a minute), it waits before
answering: a scan in progress, for a test that kills the worker running it.

Why a stub: Debian's clamav package installs here, but its signature database cannot be had
offline (freshclam downloads it from ClamAV's mirrors; this machine and CI reach only the
package registries), and clamscan without a database refuses to run. The stub speaks the same
protocol (command line with the path, exit 0/1/2), so the portal's code path is the one a real
clamdscan takes.
"""

import os
import sys
import time

# The standard anti-virus test file (https://www.eicar.org/), split so that this source file is
# not itself detected by a real scanner.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
FAIL_MARK = b"STUB-SCANNER-FAIL"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: stub_scanner.py PATH", file=sys.stderr)
        return 2
    slow_file = os.environ.get("STUB_SCANNER_SLOW_FILE", "")
    give_up = time.monotonic() + 60
    while slow_file and os.path.exists(slow_file) and time.monotonic() < give_up:
        time.sleep(0.2)
    fail_file = os.environ.get("STUB_SCANNER_FAIL_FILE", "")
    if fail_file and os.path.exists(fail_file):
        print("stub scanner: cannot connect to the scanning daemon", file=sys.stderr)
        return 2
    try:
        with open(argv[1], "rb") as handle:
            content = handle.read()
    except OSError as exc:
        print(f"stub scanner: {exc}", file=sys.stderr)
        return 2
    if FAIL_MARK in content:
        print(f"{argv[1]}: scan error", file=sys.stderr)
        return 2
    if EICAR in content:
        print(f"{argv[1]}: Eicar-Test-Signature FOUND")
        return 1
    print(f"{argv[1]}: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
