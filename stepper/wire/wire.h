/*
 * wire.h - the wiring's own pieces (internal to stepper/wire/).
 */
#ifndef STEPPER_WIRE_H
#define STEPPER_WIRE_H

#include "stepper_int.h"

/* The core's clock hooks, served by scheduler/'s virtual clock. */
extern const stp__clock_hooks stp__clock_adapter;

#endif
