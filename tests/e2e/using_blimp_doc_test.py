"""docs/using-blimp-from.md, run: every `sh` block of the page, verbatim and
in order in one bash (set -euo pipefail), against a real blimpd (with
--http-listen) and the Blimp test guest, so the page cannot drift from what
Blimp does."""
import os
import re
import socket
import subprocess
import unittest

import junit
from blimpd import TEST_GUEST, Blimpd, kvm_usable, runfile

PAGE = runfile("docs/using-blimp-from.md")


def sh_blocks(text):
    return re.findall(r"^```sh\n(.*?)^```$", text, flags=re.M | re.S)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PageTest(unittest.TestCase):
    def test_the_page_has_commands_for_each_tool(self):
        with open(PAGE) as f:
            script = "\n".join(sh_blocks(f.read()))
        for tool in ("curl --fail -s --unix-socket", "blimp_client.reflect", "from blimp_client",
                     "blimpctl", "/metrics", "promtool check metrics"):
            self.assertIn(tool, script)


@unittest.skipUnless(kvm_usable(), "SKIPPED: /dev/kvm is missing or not usable")
class UsingBlimpDocTest(unittest.TestCase):
    def test_every_command_on_the_page_works(self):
        http = f"127.0.0.1:{free_port()}"
        with open(PAGE) as f:
            blocks = sh_blocks(f.read())
        self.assertGreaterEqual(len(blocks), 6)
        script = "set -euo pipefail\n" \
                 "trap 'echo \"FAILED: line $LINENO: $BASH_COMMAND\" >&2' ERR\n" + "\n".join(blocks)
        with Blimpd([f"--http-listen={http}"]) as blimpd:
            env = dict(os.environ, BLIMP_RUN=blimpd.run_dir, BLIMP_HTTP=http, KERNEL=TEST_GUEST,
                       PATH=os.path.dirname(runfile("client/blimpctl")) + ":" + os.environ["PATH"])
            done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True,
                                  timeout=240, cwd=runfile(""))
            output = done.stdout + done.stderr
            self.assertEqual(done.returncode, 0, output + "\nblimpd's log:\n" + blimpd.log()[-3000:])
            # What the commands print, as the page says.
            self.assertIn('"actual_mib":64', output)
            self.assertIn('"openapi": "3.1.0"', output)
            self.assertIn("blimp.v1.BalloonService", output)
            self.assertIn("rpc PatchBalloon(blimp.v1.PatchBalloonRequest)", output)
            self.assertIn('"vm_id": "demo"', output)
            self.assertIn("reached 48 MiB", output)
            self.assertRegex(output, r"balloon 96 MiB, guest has \d+ MiB available")
            self.assertIn('blimp_balloon_actual_bytes{vm="demo"}', output)
            self.assertEqual(blimpd.client.list_vms(), [], "the page deletes its VM")


if __name__ == "__main__":
    junit.main()
