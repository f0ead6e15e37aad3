//===- attn-opt.cpp - the attn pass driver --------------------------------===//
//
// MlirOptMain with the attn dialect, its passes and its pipelines.
//
//===----------------------------------------------------------------------===//

#include "attn/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::attn::registerAllDialects(registry);
  mlir::attn::registerAllPasses();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "attn pass driver: attention as cascades of Einsums\n",
      registry));
}
