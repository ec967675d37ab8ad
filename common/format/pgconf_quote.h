/*
 * pgconf_quote.h — text that PostgreSQL reads back exactly: words of a
 * restore_command for /bin/sh, literal percent signs in it, and quoted
 * values in postgresql.conf / postgresql.auto.conf.
 *
 * A restore_command value goes through three readers, outermost first:
 *   1. the configuration file parser (src/backend/utils/misc/guc-file.l):
 *      a quoted value is '...' in which '' is a quote and a backslash
 *      starts an escape (\b \f \n \r \t, one to three octal digits, and
 *      \ before any other character stands for that character);
 *   2. the placeholder substitution (PostgreSQL 15: src/common/archive.c,
 *      16+: src/common/percentrepl.c): %p, %f and %r are replaced and %%
 *      is one literal %; PostgreSQL 16 refuses any other %x;
 *   3. /bin/sh -c (the server runs the command with system()).
 * So a command is built as shell-quoted words with every % doubled, the
 * real placeholders appended, and the whole quoted as a value.
 *
 * All functions append to the NUL-terminated string in buf (capacity len,
 * NUL included), allocate nothing and log nothing.  On failure they return
 * -1 with err filled and leave buf as it was.
 */
#ifndef WS_PGCONF_QUOTE_H
#define WS_PGCONF_QUOTE_H

#include <stddef.h>

#include "err.h"

/* The longest value pgconf_check_value accepts, NUL included. */
#define PGCONF_VALUE_MAX 8192
/* Room for any accepted value quoted: every byte doubled, two quotes, NUL. */
#define PGCONF_QUOTED_MAX (2 * PGCONF_VALUE_MAX + 2)

/*
 * Append word as one /bin/sh word: bare when it is made only of characters
 * the shell never interprets (letters, digits and / . _ - = : , + @ %) and
 * does not look like a variable assignment (NAME=...), else in single
 * quotes with each ' written '\''.  The empty word is ''.  Any byte,
 * newline included, survives.  WS_ECONFIG when it does not fit.
 */
int         pgconf_shell_quote(char *buf, size_t len, const char *word, struct ws_err *err);

/* Append text with every % doubled.  WS_ECONFIG when it does not fit. */
int         pgconf_percent_escape(char *buf, size_t len, const char *text, struct ws_err *err);

/*
 * Append one argument of a restore_command (or another command PostgreSQL
 * runs after placeholder substitution): a blank first unless buf is empty,
 * then word shell-quoted and with every % doubled, so that the program
 * receives word unchanged.  WS_ECONFIG when it does not fit.
 */
int         pgconf_command_word(char *buf, size_t len, const char *word, struct ws_err *err);

/*
 * Can value be written as setting key in a configuration file?  No when it
 * holds a newline (WS_ECONFIG, the message names key): PostgreSQL would
 * read "\n" back, but the next ALTER SYSTEM writes the value out raw and
 * leaves a file the server refuses, and ALTER SYSTEM itself refuses such
 * values.  Also WS_ECONFIG when it is PGCONF_VALUE_MAX bytes or longer.
 */
int         pgconf_check_value(const char *key, const char *value, struct ws_err *err);

/*
 * Append value quoted for a configuration file, '...' with ' written ''
 * and \ written \\ (as ALTER SYSTEM writes them); every other byte is
 * written as it is.  Fails as pgconf_check_value does (key only names the
 * setting in the message), or WS_ECONFIG when it does not fit.
 */
int         pgconf_quote_value(char *buf, size_t len, const char *key, const char *value,
                               struct ws_err *err);

#endif
