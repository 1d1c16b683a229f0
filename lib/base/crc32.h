/* crc32 — the CRC-32 of zlib, gzip and PNG (reflected 0xEDB88320), for
 * checking files slabwatchd wrote itself before it trusts them again. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* CRC-32 of @len bytes at @buf, continuing from @crc (0 to start). */
uint32_t crc32_update(uint32_t crc, const void *buf, size_t len);
