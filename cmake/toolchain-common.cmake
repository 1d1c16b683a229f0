# Shared part of the cross toolchain files: a Debian cross compiler
# (gcc-<triplet>, its own libc) plus a sysroot of the target's -dev packages
# unpacked by scripts/cross into build/sysroot-<arch>.
#   SLABWATCH_TRIPLET   e.g. mipsel-linux-gnu (set by the including file)
#   SLABWATCH_SYSROOT   the unpacked packages (default: build/sysroot-<arch>)
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_C_COMPILER ${SLABWATCH_TRIPLET}-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE ${SLABWATCH_TRIPLET})
if(NOT SLABWATCH_SYSROOT)
  set(SLABWATCH_SYSROOT ${CMAKE_CURRENT_LIST_DIR}/../build/sysroot-${SLABWATCH_ARCH})
endif()
get_filename_component(SLABWATCH_SYSROOT ${SLABWATCH_SYSROOT} ABSOLUTE)

# The compiler keeps its own libc (/usr/<triplet>); the packages add to it.
set(CMAKE_FIND_ROOT_PATH ${SLABWATCH_SYSROOT} /usr/${SLABWATCH_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_C_FLAGS_INIT "-isystem ${SLABWATCH_SYSROOT}/usr/include -isystem ${SLABWATCH_SYSROOT}/usr/include/${SLABWATCH_TRIPLET}")
set(CMAKE_EXE_LINKER_FLAGS_INIT
  "-L${SLABWATCH_SYSROOT}/usr/lib/${SLABWATCH_TRIPLET} -L${SLABWATCH_SYSROOT}/lib/${SLABWATCH_TRIPLET} -Wl,-rpath-link,${SLABWATCH_SYSROOT}/usr/lib/${SLABWATCH_TRIPLET} -Wl,-rpath-link,${SLABWATCH_SYSROOT}/lib/${SLABWATCH_TRIPLET}")

# pkg-config answers from the target's .pc files only.
set(ENV{PKG_CONFIG_SYSROOT_DIR} ${SLABWATCH_SYSROOT})
set(ENV{PKG_CONFIG_LIBDIR} "${SLABWATCH_SYSROOT}/usr/lib/${SLABWATCH_TRIPLET}/pkgconfig:${SLABWATCH_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
