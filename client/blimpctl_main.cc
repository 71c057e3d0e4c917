// blimpctl: see client/README.md and `blimpctl --help`.
#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "client/blimpctl.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return blimp::client::Run(args, std::cout, std::cerr, ::isatty(STDOUT_FILENO) != 0);
}
