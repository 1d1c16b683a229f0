# Cross build for Debian mipsel (mipsel-linux-gnu): gcc-mipsel-linux-gnu and build/sysroot-mipsel (scripts/cross mipsel).
set(SLABWATCH_ARCH mipsel)
set(SLABWATCH_TRIPLET mipsel-linux-gnu)
set(CMAKE_SYSTEM_PROCESSOR mipsel)
include(${CMAKE_CURRENT_LIST_DIR}/toolchain-common.cmake)
