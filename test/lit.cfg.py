# lit configuration of the attn test suite.
import os
import shutil

import lit.formats
from lit.llvm import llvm_config

config.name = "ATTN"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".attn", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.attn_obj_root, "test")
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "Inputs"]

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%attn_src_root", config.attn_src_root))
# Every value capture must be local to its CHECK-LABEL block.
config.environment["FILECHECK_OPTS"] = "--enable-var-scope"

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP",
                                     "CUDA_HOME", "CI", "ATTNC_CACHE_DIR",
                                     "ASAN_OPTIONS", "UBSAN_OPTIONS"])
llvm_config.use_default_substitutions()

tool_dirs = [config.attn_tools_dir, config.llvm_tools_dir]
tools = ["attn-opt", "not"]
if os.path.exists(os.path.join(config.attn_tools_dir, "attnc")):
    tools.append("attnc")
    config.available_features.add("attnc")
llvm_config.add_tool_substitutions(tools, tool_dirs)

# PTX tests need ptxas; where it is missing they skip visibly, except under
# CI=true, where lit.cfg refuses to run so a missing toolkit cannot pass.
ptxas = shutil.which("ptxas") or (
    "/usr/local/cuda/bin/ptxas" if os.path.exists("/usr/local/cuda/bin/ptxas") else None)
if ptxas:
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))
elif os.environ.get("CI", "").lower() == "true":
    lit_config.fatal("CI=true but ptxas was not found on PATH or at "
                     "/usr/local/cuda/bin/ptxas: the PTX tests would be skipped; "
                     "install the CUDA toolkit or unset CI")
else:
    lit_config.note("ptxas not found: tests that REQUIRE ptxas are skipped")
