/*
 * login.h: `qualreport login` and `qualreport login --check`, the
 * terminal side of the device-code sign-in (auth_login) and of the
 * stored refresh token's check (auth_login_check).
 */
#ifndef QR_LOGIN_H
#define QR_LOGIN_H

#include <signal.h>

#include "cli.h"

/* Run the login the parsed command line asks for; returns the exit
 * status (0, 2 usage, 4 authentication, 5 the token not written, 130/143
 * interrupted). */
int login_main(struct cli *cli, volatile sig_atomic_t *stop);

#endif
