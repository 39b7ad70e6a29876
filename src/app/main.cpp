#include "aiusage/cli.hpp"

int main(int argc, char** argv) { return aiusage::run_main(argc, argv); }
