/*
 * mock.c - send this input, expect exactly this output: once with given
 * cuts, over every 2-piece split, or over random multi-piece splits. A
 * failure names the split and shows what came.
 */
#include "io.h"
#include "prng.h"

#include <stdlib.h>
#include <string.h>

/* A byte as people read it in a split name. */
static void byte_text(char *out, size_t size, unsigned char c)
{
	if (c == '\r')
		snprintf(out, size, "\\r");
	else if (c == '\n')
		snprintf(out, size, "\\n");
	else if (c >= 0x20 && c < 0x7f)
		snprintf(out, size, "%c", c);
	else
		snprintf(out, size, "\\x%02x", c);
}

static void split_name(const stp_mock *m, const size_t *cuts, size_t ncuts, char *out,
		       size_t size)
{
	const unsigned char *in = m->input;
	size_t len = (size_t)snprintf(out, size, ncuts ? "split at" : "in one piece");
	for (size_t i = 0; i < ncuts && len + 40 < size; i++) {
		char a[8] = "", b[8] = "";
		if (cuts[i] > 0)
			byte_text(a, sizeof a, in[cuts[i] - 1]);
		if (cuts[i] < m->input_len)
			byte_text(b, sizeof b, in[cuts[i]]);
		len += (size_t)snprintf(out + len, size - len, " %zu (between \"%s\" and \"%s\")",
					cuts[i], a, b);
	}
}

static void shown(const void *data, size_t n, char *out, size_t size)
{
	const unsigned char *d = data;
	size_t o = 0;
	out[o++] = '"';
	for (size_t i = 0; i < n && o + 8 < size; i++) {
		char t[8];
		byte_text(t, sizeof t, d[i]);
		o += (size_t)snprintf(out + o, size - o, "%s", t);
	}
	snprintf(out + o, size - o, "\"");
}

int stp_mock_run(const stp_mock *m, const size_t *cuts, size_t ncuts, char *err,
		 size_t errsize)
{
	if (err && errsize)
		err[0] = '\0';
	if (!m || !m->setup || (!m->input && m->input_len) || (ncuts && !cuts))
		return STP_EINVAL;
	for (size_t i = 0; i < ncuts; i++)
		if (cuts[i] == 0 || cuts[i] >= m->input_len || (i && cuts[i] <= cuts[i - 1]))
			return STP_EINVAL;
	stp_io *io = stp_io_fake_new();
	if (!io)
		return STP_ENOMEM;
	int rc = 0;
	int l = m->setup(io, m->arg);
	int c = l < 0 ? l : stp_fake_connect(io, l);
	if (c < 0 || (rc = stp_fake_accept(io, c)) < 0) {
		rc = c < 0 ? c : rc;
		goto out;
	}
	stp_fake_run_all(io);
	size_t from = 0;
	for (size_t i = 0; i <= ncuts; i++) {
		size_t to = i < ncuts ? cuts[i] : m->input_len;
		if (to > from && stp_fake_send(io, c, (const char *)m->input + from,
					       to - from) == 0)
			stp_fake_run_all(io);
		from = to;
	}
	size_t n = stp_fake_pending_output(io, c);
	char *got = malloc(n + 1);
	if (!got) {
		rc = STP_ENOMEM;
		goto out;
	}
	stp_fake_recv(io, c, got, n);
	int closed = stp_fake_closed(io, c) == 1;
	if (n != m->expect_len || memcmp(got, m->expect, n) != 0 ||
	    (m->expect_close && !closed)) {
		rc = STP_EMISMATCH;
		if (err && errsize) {
			char name[512], want[512], have[512];
			split_name(m, cuts, ncuts, name, sizeof name);
			shown(m->expect, m->expect_len, want, sizeof want);
			shown(got, n, have, sizeof have);
			if (n == m->expect_len && memcmp(got, m->expect, n) == 0)
				snprintf(err, errsize, "%s: the output was right but the code "
						       "did not close the connection", name);
			else
				snprintf(err, errsize, "%s: expected %s, got %s", name, want, have);
		}
	}
	free(got);
out:
	if (m->teardown)
		m->teardown(io, m->arg);
	stp_io_free(io);
	return rc;
}

int stp_mock_all_2_splits(const stp_mock *m, char *err, size_t errsize)
{
	if (!m)
		return STP_EINVAL;
	int rc = stp_mock_run(m, NULL, 0, err, errsize);
	for (size_t cut = 1; rc == 0 && cut < m->input_len; cut++)
		rc = stp_mock_run(m, &cut, 1, err, errsize);
	return rc;
}

int stp_mock_random_splits(const stp_mock *m, uint64_t seed, unsigned runs, char *err,
			   size_t errsize)
{
	if (!m || m->input_len < 2)
		return STP_EINVAL;
	size_t *cuts = malloc(m->input_len * sizeof *cuts);
	if (!cuts)
		return STP_ENOMEM;
	stp__rng rng;
	stp__rng_seed(&rng, seed);
	int rc = 0;
	for (unsigned r = 0; rc == 0 && r < runs; r++) {
		/* each boundary is a cut with probability 1/4 */
		size_t n = 0;
		for (size_t b = 1; b < m->input_len; b++)
			if (stp__rng_below(&rng, 4) == 0)
				cuts[n++] = b;
		rc = stp_mock_run(m, cuts, n, err, errsize);
		if (rc && err && errsize) {
			size_t len = strlen(err);
			snprintf(err + len, errsize - len, " (random split %u of seed %llu)",
				 r + 1, (unsigned long long)seed);
		}
	}
	free(cuts);
	return rc;
}
