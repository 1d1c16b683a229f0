#!/usr/bin/env bash
# The device builds (scripts/cross ARCH) are for the right architecture and
# work: slabwatchctl built for arm64, armhf and mipsel, run under
# qemu-user-static, reads a console log and diffs two snapshots exactly as
# the native build does, and slabwatchd validates the shipped config. An
# architecture whose cross compiler or qemu-user is not installed is skipped
# (scripts/test installs them); if none can run, the test is skipped.
set -u
. "$(dirname "$0")/lib/common.sh"
tmp_setup
cd "$SRCDIR"

stacks_fixture=$FIXTURES/stacks/x86-6.18-journal-skb-leak.txt
"$SLABWATCHCTL" stacks "$stacks_fixture" > "$TEST_TMP/native.stacks" || fail "native slabwatchctl stacks failed"
"$SLABWATCHCTL" diff "$FIXTURES/seed-3.18-mips/slabinfo" "$FIXTURES/linux-6.18-x86_64/slabinfo" \
        > "$TEST_TMP/native.diff" 2>/dev/null
native_diff_rc=$?

ran=0
skipped=()
for spec in arm64:aarch64-linux-gnu:aarch64:"ARM aarch64" armhf:arm-linux-gnueabihf:arm:"ARM, EABI5" \
            mipsel:mipsel-linux-gnu:mipsel:"MIPS, MIPS32"; do
        IFS=: read -r arch triplet qarch filearch <<< "$spec"
        qemu=qemu-$qarch-static
        if ! command -v "$triplet-gcc" >/dev/null || [ ! -e "/usr/$triplet/lib/crti.o" ]; then
                skipped+=("$arch: no $triplet-gcc with its libc (gcc-$triplet, libc6-dev-$arch-cross)")
                continue
        fi
        if ! command -v "$qemu" >/dev/null; then
                skipped+=("$arch: no $qemu (qemu-user-static)")
                continue
        fi
        out=build/cross-$arch
        scripts/cross "$arch" > "$TEST_TMP/cross-$arch.log" 2>&1
        rc=$?
        if [ $rc -eq 3 ]; then
                skipped+=("$arch: its Debian packages could not be downloaded for the sysroot")
                continue
        elif [ $rc -ne 0 ]; then
                tail -20 "$TEST_TMP/cross-$arch.log"
                fail "scripts/cross $arch failed"
        fi
        for bin in daemon/slabwatchd client/slabwatchctl tests/progs/leaker; do
                file -b "$out/$bin" | grep -q "$filearch" || fail "$out/$bin is not $filearch: $(file -b "$out/$bin")"
        done
        sysroot=$PWD/build/sysroot-$arch
        run() {
                QEMU_LD_PREFIX=/usr/$triplet \
                LD_LIBRARY_PATH=$sysroot/usr/lib/$triplet:$sysroot/lib/$triplet \
                        "$qemu" "$@"
        }
        run "$out/client/slabwatchctl" stacks "$stacks_fixture" > "$TEST_TMP/$arch.stacks" ||
                fail "$arch slabwatchctl stacks failed"
        cmp -s "$TEST_TMP/native.stacks" "$TEST_TMP/$arch.stacks" || {
                diff "$TEST_TMP/native.stacks" "$TEST_TMP/$arch.stacks" | head -20
                fail "$arch slabwatchctl stacks differs from the native build"
        }
        grep -q . "$TEST_TMP/$arch.stacks" || fail "$arch slabwatchctl stacks printed nothing"
        run "$out/client/slabwatchctl" diff "$FIXTURES/seed-3.18-mips/slabinfo" \
                "$FIXTURES/linux-6.18-x86_64/slabinfo" > "$TEST_TMP/$arch.diff" 2>/dev/null
        rc=$?
        [ $rc -eq $native_diff_rc ] || fail "$arch slabwatchctl diff exited $rc, native $native_diff_rc"
        cmp -s "$TEST_TMP/native.diff" "$TEST_TMP/$arch.diff" || fail "$arch slabwatchctl diff differs from native"
        run "$out/daemon/slabwatchd" --check-config -c config/slabwatch.yaml > "$TEST_TMP/$arch.check" 2>&1 ||
                { cat "$TEST_TMP/$arch.check"; fail "$arch slabwatchd --check-config failed on config/slabwatch.yaml"; }
        echo "$arch: $(file -b "$out/daemon/slabwatchd" | cut -d, -f1-2); slabwatchctl stacks and diff match native"
        ran=$((ran + 1))
done
for s in "${skipped[@]}"; do echo "skipped $s"; done
[ $ran -gt 0 ] || skip "no cross toolchain with qemu-user: ${skipped[*]}"
echo "PASS ($ran architectures)"
