"""lit configuration of the FileCheck tests: `lit -v tests/filecheck` (or pytest tests/test_lit.py).

Each `.mlir` file starts with `// RUN:` lines over these commands:

* `kc-opt`      this checkout's driver (tools/kc-opt) under the interpreter running lit;
* `filecheck`   the FileCheck clone (the `filecheck` script, else `python -m filecheck`);
* `exit-code N` runs the rest of the line and succeeds only if it exits with status N
                (`not` accepts any failure, a Python traceback included).
"""

import os
import shlex
import shutil
import sys

import lit.formats

config = globals()["config"]  # provided by lit  # noqa: F821

config.name = "kcompiler"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir"]
config.test_source_root = os.path.dirname(os.path.abspath(__file__))

repo = os.path.dirname(os.path.dirname(config.test_source_root))
python = shlex.quote(sys.executable)
filecheck = shutil.which("filecheck")
exit_code = (
    "import subprocess, sys; got = subprocess.call(sys.argv[2:]); "
    "sys.exit(0 if got == int(sys.argv[1]) else f'expected exit code {sys.argv[1]}, got {got}')"
)

# Substitutions are regular expressions; these match the commands as whole words only.
config.substitutions.append(
    (
        r"(?<![\w/.-])kc-opt(?![\w.-])",
        f"{python} {shlex.quote(os.path.join(repo, 'tools', 'kc-opt'))}",
    )
)
config.substitutions.append(
    (
        r"(?<![\w/.-])filecheck(?![\w.-])",
        shlex.quote(filecheck) if filecheck else f"{python} -m filecheck",
    )
)
config.substitutions.append((r"(?<![\w/.-])exit-code(?![\w.-])", f'{python} -c "{exit_code}"'))

config.environment["PATH"] = os.environ.get("PATH", "")
if "PYTHONPATH" in os.environ:
    config.environment["PYTHONPATH"] = os.environ["PYTHONPATH"]
