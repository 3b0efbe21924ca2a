#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "log.h"
#include "now.h"

#define TTY_INTERVAL_MS 100     /* at most 10 redraws a second */
#define LOG_INTERVAL_MS 10000   /* one line every 10 s without a tty */

struct progress {
	int tty;
	int64_t start_ms;
	int64_t last_ms;
	int drawn;               /* the bar is on screen */
	int hidden;              /* taken off for a log line */
	struct progress_state last;
};

void progress_format_duration(double seconds, char *out, unsigned outlen)
{
	long s = seconds < 0 ? 0 : (long)(seconds + 0.5);

	if(s >= 3600)
		snprintf(out, outlen, "%ld:%02ld:%02ld", s / 3600,
			 s / 60 % 60, s % 60);
	else
		snprintf(out, outlen, "%ld:%02ld", s / 60, s % 60);
}

static int term_width(void)
{
	struct winsize ws;

	if(ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
		return ws.ws_col;
	return 80;
}

/* "1200/5000 24% 95.3/s ETA 0:40 failed 3 retrying 2", and while the
 * API's quota is spent "1200/5000 24% throttled by the API: resuming in
 * 41 s, 8.3/s ETA 2:40 ..." (early in the line: a narrow terminal cuts
 * the end) */
static void format_counts(const struct progress *p,
			  const struct progress_state *st, int64_t now,
			  char *out, size_t outlen)
{
	double elapsed = (double)(now - p->start_ms) / 1000.0;
	double rate = elapsed > 0 ? (double)st->done / elapsed : 0;
	char eta[24] = "-", when[24];
	int pct = st->total ? (int)(st->done * 100 / st->total) : 100;
	int len;

	if(rate > 0 && st->total >= st->done)
		progress_format_duration((double)(st->total - st->done) / rate,
					 eta, sizeof(eta));
	if(st->listing)
		len = snprintf(out, outlen, "%llu done, listed %llu so far",
			       (unsigned long long)st->done,
			       (unsigned long long)st->total);
	else
		len = snprintf(out, outlen, "%llu/%llu %d%%",
			       (unsigned long long)st->done,
			       (unsigned long long)st->total, pct);
	if(len >= 0 && (size_t)len < outlen && st->resume_in_ms > 0) {
		int64_t s = (st->resume_in_ms + 999) / 1000;

		if(s < 100)
			snprintf(when, sizeof(when), "%d s", (int)s);
		else
			progress_format_duration((double)s, when,
						 sizeof(when));
		len += snprintf(out + len, outlen - (size_t)len,
				" throttled by the API: resuming in %s,",
				when);
	}
	if(len >= 0 && (size_t)len < outlen && st->listing)
		len += snprintf(out + len, outlen - (size_t)len, " %.1f/s",
				rate);
	else if(len >= 0 && (size_t)len < outlen)
		len += snprintf(out + len, outlen - (size_t)len,
				" %.1f/s ETA %s", rate, eta);
	if(len >= 0 && (size_t)len < outlen && st->failed)
		len += snprintf(out + len, outlen - (size_t)len, " failed %llu",
				(unsigned long long)st->failed);
	if(len >= 0 && (size_t)len < outlen && st->waiting)
		snprintf(out + len, outlen - (size_t)len, " retrying %u",
			 st->waiting);
}

static void erase(struct progress *p)
{
	if(p->drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		p->drawn = 0;
	}
}

static void draw(struct progress *p, int64_t now)
{
	char counts[224];
	char bar[256];
	int width = term_width();
	int barw, filled;
	const struct progress_state *st = &p->last;

	format_counts(p, st, now, counts, sizeof(counts));
	barw = width - (int)strlen(counts) - 4;
	if(barw > 40)
		barw = 40;
	if(barw < 10) {
		fprintf(stderr, "\r\033[K%.*s", width - 1, counts);
	} else {
		/* while listing, the bar is only what is done of what is
		 * known: it can go back as the list grows */
		filled = st->total ? (int)((double)barw * (double)st->done /
					   (double)st->total)
				   : barw;
		if(filled > barw)
			filled = barw;
		for(int i = 0; i < barw; i++)
			bar[i] = i < filled ? '=' : (i == filled ? '>' : ' ');
		bar[barw] = '\0';
		fprintf(stderr, "\r\033[K[%s] %s", bar, counts);
	}
	fflush(stderr);
	p->drawn = 1;
}

/* log.h hook: take the bar off the screen around a log line. */
static void log_hook(void *ctx, int after)
{
	struct progress *p = ctx;

	if(!after) {
		p->hidden = p->drawn;
		erase(p);
	} else if(p->hidden) {
		p->hidden = 0;
		draw(p, now_mono_ms());
	}
}

struct progress *progress_new(enum progress_mode mode)
{
	struct progress *p;
	int tty = isatty(STDERR_FILENO);

	if(mode == PROGRESS_OFF)
		return NULL;
	p = calloc(1, sizeof(*p));
	if(!p)
		return NULL;
	p->tty = mode == PROGRESS_ON || tty;
	p->start_ms = now_mono_ms();
	p->last_ms = p->start_ms;
	if(p->tty)
		log_set_hook(log_hook, p);
	return p;
}

void progress_update(struct progress *p, const struct progress_state *st)
{
	int64_t now;
	char counts[224];

	if(!p)
		return;
	p->last = *st;
	now = now_mono_ms();
	if(p->tty) {
		if(now - p->last_ms < TTY_INTERVAL_MS && p->drawn)
			return;
		p->last_ms = now;
		draw(p, now);
		return;
	}
	if(now - p->last_ms < LOG_INTERVAL_MS)
		return;
	p->last_ms = now;
	format_counts(p, st, now, counts, sizeof(counts));
	log_info("progress: %s", counts);
}

void progress_finish(struct progress *p)
{
	if(!p)
		return;
	if(p->tty) {
		log_set_hook(NULL, NULL);
		erase(p);
	}
	free(p);
}
