package ui

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"
)

// Quitting. The window closes through its close intercept, which asks
// before stopping a write. A signal (SIGTERM when the admin logs out or the
// session ends, SIGINT from a terminal) skips that question: Fyne turns it
// straight into a quit (its desktop driver's catchTerm), and the process
// would then end under a write in progress. The journal would still let a
// later rollback restore the image, but a safety net must not be the plan,
// so every way out goes through settle first: a running apply is
// cancelled and waited for until the engine has brought the image to a
// consistent point (original, or written and verified).
//
// Fyne 2.7 can also hang on its way out: its main goroutine waits for the
// lifecycle event queue (Lifecycle.WaitForEvents) while a call to the main
// thread queued during the shutdown waits for a loop that has stopped (a
// goroutine dump of the hang showed runOnMainWithWait blocked). Once the
// image is settled nothing is left to lose, so after a signal the process
// leaves by itself if Fyne has not let go within quitGrace.

// quitGrace is how long Fyne gets to finish quitting after a signal once the
// image is settled.
var quitGrace = 5 * time.Second

// settleTimeout bounds the wait for a cancelled apply (its rollback of a
// large image can take a while; the engine's own Stop message says what to
// do when it is exceeded).
const settleTimeout = 2 * time.Minute

// quitter runs the settle once, whichever way out comes first.
type quitter struct {
	u    *UI
	once sync.Once
	out  io.Writer // where the settle message goes (stderr)
	exit func(int) // os.Exit, except in tests
}

// settle stops a running apply at a consistent point and ends the UI's
// background work. It runs once; a second caller waits for the first.
func (q *quitter) settle(why string) {
	q.once.Do(func() {
		if msg := q.u.stopWork(); msg != "" {
			slog.Warn("ui: quit while writing", "why", why, "outcome", msg)
			fmt.Fprintln(q.out, "pvinject: "+msg)
		}
	})
}

// markClosing records that the window is closing for good (requestQuit),
// which arms the same watch as a signal.
func (u *UI) markClosing() {
	u.closingOnce.Do(func() { close(u.closing) })
}

// stopWork stops a running apply at a consistent point, ends the UI's
// background work and waits for it; it returns the wizard's words for what
// was left ("" when nothing was being written).
func (u *UI) stopWork() string {
	msg := u.wiz.Stop(settleTimeout)
	u.close()
	u.jobs.Wait()
	return msg
}

// watch waits for quit (a signal), the window closing, or done (the window
// loop has returned); it settles the image and then leaves the process if
// Fyne is still stuck quitting after quitGrace.
func (q *quitter) watch(quit <-chan struct{}, done <-chan struct{}) {
	why := "signal"
	select {
	case <-done:
		return
	case <-quit:
	case <-q.u.closing:
		why = "window closed"
	}
	slog.Info("ui: quitting", "why", why)
	q.settle(why)
	select {
	case <-done:
	case <-time.After(quitGrace):
		slog.Warn("ui: the window system did not finish quitting; leaving", "grace", quitGrace)
		q.exit(0)
	}
}

// RunUntil shows the window and runs Fyne's loop until the window closes,
// the app quits or quit is closed (a signal; nil: never). A write in
// progress is brought to a consistent point before it returns, whichever
// way the loop ended.
func (u *UI) RunUntil(quit <-chan struct{}) {
	q := &quitter{u: u, out: os.Stderr, exit: os.Exit}
	done := make(chan struct{})
	go q.watch(quit, done)
	u.win.ShowAndRun()
	q.settle("window loop ended")
	close(done)
}
