/* Placeholder until cli.c lands in this same session. */
#include <stdio.h>
int main(void)
{
	puts("qualreport " QR_VERSION);
	return 0;
}
