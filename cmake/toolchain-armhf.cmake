# Cross build for Debian armhf (arm-linux-gnueabihf): gcc-arm-linux-gnueabihf and build/sysroot-armhf (scripts/cross armhf).
set(SLABWATCH_ARCH armhf)
set(SLABWATCH_TRIPLET arm-linux-gnueabihf)
set(CMAKE_SYSTEM_PROCESSOR arm)
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-common.cmake)
