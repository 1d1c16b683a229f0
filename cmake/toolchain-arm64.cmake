# Cross build for Debian arm64 (aarch64-linux-gnu): gcc-aarch64-linux-gnu and build/sysroot-arm64 (scripts/cross arm64).
set(SLABWATCH_ARCH arm64)
set(SLABWATCH_TRIPLET aarch64-linux-gnu)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-common.cmake)
