/*
 * wire.c - the top of the library. stp_interleave and stp_run turn a
 * stepper's options into the hooks of its run (the replay source and the
 * trace writer of traces/, the clock adapter for scheduler/), then hand
 * over to the core, which knows none of those modules.
 */
#include "stepper_int.h"
#include "trace_int.h"
#include "wire.h"
#include "shrink.h"

static void wire(stp_stepper *s)
{
	if (s->wired)
		return;
	s->wired = 1;
	/* a process of `stepper shrink` replays a candidate (shrink_cmd.c) */
	int candidate = s->opt.replay && stp__shrink_candidate_wanted();
	if (s->opt.replay)
		s->hooks.interleave = candidate ? stp__shrink_candidate_interleave
						: stp__replay_interleave;
	s->hooks.run_start = stp__trace_run_start;
	s->hooks.run_end = candidate ? stp__shrink_candidate_run_end : stp__trace_run_end;
	s->hooks.errors_added = stp__trace_refresh;
	if (s->opt.clock)
		s->hooks.clock = &stp__clock_adapter;
}

int stp_interleave(stp_stepper *s)
{
	if (s && s->phase == STP__NEW)
		wire(s);
	return stp__interleave(s);
}

int stp_run(stp_stepper *s)
{
	if (s && s->phase == STP__NEW)
		wire(s);
	return stp__run(s);
}
