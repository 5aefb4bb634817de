/* SPDX-License-Identifier: MIT */
/*
 * Fuzz msg_recv: the first byte steers (see FZ_*), the rest is sent as
 * one datagram on a SOCK_SEQPACKET pair.  msg_recv must accept exactly
 * the well-formed messages and never leak a passed descriptor.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "msg.h"
#include "t.h"

#define FZ_FD 0x1	 /* attach a descriptor */
#define FZ_TWO_FDS 0x2	 /* attach two */
#define FZ_FIX_HDR 0x4	 /* correct version and, with FZ_FIX_LEN, len */
#define FZ_FIX_LEN 0x8	 /* correct len and the datagram's size */
#define FZ_TYPE_MOD 0x10 /* type %= UZ_MSG_TYPE_MAX + 1 */

#define FZ_DGRAM_MAX 8192

static int sv[2] = { -1, -1 }, spare = -1;

static void setup(void)
{
	if (sv[0] >= 0)
		return;
	fuzz_assert(!socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv));
	fuzz_assert(fcntl(sv[1], F_SETFL, O_NONBLOCK) == 0);
	spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	fuzz_assert(spare >= 0);
}

static int lowest_free_fd(void)
{
	int fd = fcntl(spare, F_DUPFD_CLOEXEC, 0);

	fuzz_assert(fd >= 0);
	close(fd);
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t b[FZ_DGRAM_MAX];
	struct uz_msg_hdr hdr;
	struct uz_msg m;
	const char *cause = NULL;
	uint8_t flags;
	size_t n;
	int nfd, fd = -2, low, r, want;

	setup();
	if (size < 1)
		return 0;
	flags = data[0];
	n = size - 1 < FZ_DGRAM_MAX ? size - 1 : FZ_DGRAM_MAX;
	memcpy(b, data + 1, n);
	if (n >= sizeof(hdr)) {
		memcpy(&hdr, b, sizeof(hdr));
		if (flags & FZ_TYPE_MOD)
			hdr.type %= UZ_MSG_TYPE_MAX + 1;
		if (flags & FZ_FIX_HDR)
			hdr.version = UZ_PROTOCOL_VERSION;
		if ((flags & FZ_FIX_LEN) && msg_payload_size(hdr.type) >= 0) {
			hdr.len = (uint32_t)msg_payload_size(hdr.type);
			if (n < sizeof(hdr) + hdr.len)
				memset(b + n, 0, sizeof(hdr) + hdr.len - n);
			n = sizeof(hdr) + hdr.len;
		}
		memcpy(b, &hdr, sizeof(hdr));
	}
	nfd = flags & FZ_TWO_FDS ? 2 : flags & FZ_FD ? 1 : 0;
	if (!n && !nfd)
		return 0; /* would read as the end of the stream */

	low = lowest_free_fd();
	fuzz_assert(t_send_raw(sv[0], b, n, spare, nfd) == (ssize_t)n);
	r = msg_recv(sv[1], &m, &fd, &cause);

	/* what the message should have been judged */
	want = -EPROTO;
	if (n >= sizeof(hdr) && n <= UZ_MSG_MAX) {
		memcpy(&hdr, b, sizeof(hdr));
		if (hdr.version == UZ_PROTOCOL_VERSION &&
		    msg_payload_size(hdr.type) >= 0 &&
		    hdr.len == (uint32_t)msg_payload_size(hdr.type) &&
		    n == sizeof(hdr) + hdr.len &&
		    (nfd == 0 || (nfd == 1 && (hdr.type == UZ_MSG_AGENT_HELLO ||
					       hdr.type == UZ_MSG_AGENT_WELCOME))))
			want = 0;
	}
	fuzz_assert(r == want);
	if (r == 0) {
		fuzz_assert(!memcmp(&m, b, n));
		fuzz_assert(nfd ? fd == low : fd == -1);
		if (fd >= 0)
			close(fd);
	} else {
		fuzz_assert(fd == -1 && cause && *cause);
	}
	fuzz_assert(lowest_free_fd() == low);
	return 0;
}

/*
 * One valid message of each type (a hello and a welcome with an fd),
 * then an evict a byte longer than UZ_MSG_MAX: libFuzzer seldom grows
 * an input that far by itself.
 */
size_t fuzz_seed_input(unsigned i, uint8_t *buf, size_t cap)
{
	unsigned type = i + 1;
	struct uz_msg_hdr hdr = { .version = UZ_PROTOCOL_VERSION };
	size_t j, n;

	if (type > UZ_MSG_TYPE_MAX || cap < 2 + UZ_MSG_MAX)
		return 0;
	if (type == UZ_MSG_TYPE_MAX)
		type = UZ_MSG_EVICT;
	hdr.type = (uint16_t)type;
	hdr.len = (uint32_t)msg_payload_size(type);
	hdr.seq = i * 1000;
	buf[0] = type <= UZ_MSG_AGENT_WELCOME ? FZ_FD : 0;
	memcpy(buf + 1, &hdr, sizeof(hdr));
	n = 1 + sizeof(hdr) + hdr.len;
	if (i + 1 == UZ_MSG_TYPE_MAX)
		n = 2 + UZ_MSG_MAX;
	for (j = 1 + sizeof(hdr); j < n; j++)
		buf[j] = (uint8_t)(j * 7 + i);
	return n;
}
