"""Compiles every examples/*.attn with `attnc compile --emit=mlir` and pipes
the module through `attn-opt`; exits non-zero naming each spec that fails."""
import pathlib
import subprocess
import sys

examples, attnc, attn_opt = sys.argv[1:4]
failures = []
specs = sorted(pathlib.Path(examples).glob("*.attn"))
for spec in specs:
    compiled = subprocess.run([attnc, "compile", str(spec), "--emit=mlir"],
                              capture_output=True, text=True)
    if compiled.returncode != 0:
        failures.append(f"{spec.name}: attnc failed:\n{compiled.stderr}")
        continue
    parsed = subprocess.run([attn_opt], input=compiled.stdout,
                            capture_output=True, text=True)
    if parsed.returncode != 0:
        failures.append(f"{spec.name}: attn-opt rejected the module:\n"
                        f"{parsed.stderr}")
print(f"compiled {len(specs)} examples, {len(failures)} failed")
for failure in failures:
    print(failure, file=sys.stderr)
sys.exit(1 if failures or not specs else 0)
