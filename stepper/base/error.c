/*
 * error.c - names and texts of the STP_E* codes, from the one table in
 * error.h.
 */
#include "error.h"

const char *stp_strerror(int code)
{
	switch (code) {
	case 0:
		return "ok";
#define STP__TEXT(name, c, text)                                             \
	case c:                                                             \
		return text;
		STP_ERRNO_MAP(STP__TEXT)
#undef STP__TEXT
	}
	return "unknown error";
}

const char *stp_errname(int code)
{
	switch (code) {
	case 0:
		return "0";
#define STP__NAME(name, c, text)                                             \
	case c:                                                             \
		return "STP_" #name;
		STP_ERRNO_MAP(STP__NAME)
#undef STP__NAME
	}
	return "STP_E?";
}
