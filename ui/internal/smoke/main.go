// Command smoke starts the pvinject window on the fake engine for the
// real-window smoke test (scripts/gui-smoke.sh) and for trying the UI
// without a core: go run ./ui/internal/smoke -demo.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/pvinject/pvinject/ui"
	"github.com/pvinject/pvinject/wizard"
	"github.com/pvinject/pvinject/wizard/wizardtest"
)

func main() {
	start := time.Now()
	demo := flag.Bool("demo", false, "open the fake engine's demo image at once")
	answers := flag.String("answers", "", "answer file that pre-fills the Drivers and Options steps")
	autoApply := flag.Duration("auto-apply", 0, "press Apply this long after reaching step 6 (0: never)")
	stepDelay := flag.Duration("step-delay", 150*time.Millisecond, "fake apply time per action")
	hangOnQuit := flag.Bool("hang-on-quit", false, "hold Fyne's main loop forever, so that quitting hangs as Fyne 2.7 sometimes does, to test that the process still leaves")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	eng := wizardtest.NewFakeEngine()
	eng.StepDelay = *stepDelay
	a := app.NewWithID(ui.AppID)
	u := ui.NewWindow(a, eng)
	if *answers != "" {
		ans, err := wizard.LoadAnswers(*answers)
		if err != nil {
			log.Fatal(err)
		}
		if err := u.Wizard().Prefill(ans); err != nil {
			log.Fatal(err)
		}
	}
	if *demo {
		p, err := eng.DemoImage(context.Background())
		if err != nil {
			log.Fatal(err)
		}
		u.OpenImage(p)
	}
	a.Lifecycle().SetOnStarted(func() {
		fmt.Fprintf(os.Stderr, "smoke: window up %d ms after main\n", time.Since(start).Milliseconds())
		if *hangOnQuit {
			// Hold the main loop once the window is drawn: the quit that
			// Fyne's own signal handler queues then never runs and its
			// window loop never returns, the stuck shutdown ui/quit.go must
			// leave. (A never-returning lifecycle OnStopped callback did not
			// hold Fyne every time.)
			go func() {
				time.Sleep(300 * time.Millisecond)
				fyne.Do(func() {
					fmt.Fprintln(os.Stderr, "smoke: holding Fyne's main loop")
					select {}
				})
			}()
		}
	})
	if *autoApply > 0 {
		go applyOnStep6(u, *autoApply)
	}
	go reportSteps(u)
	u.RunUntil(ctx.Done())
	fmt.Fprintf(os.Stderr, "smoke: quit after %d ms\n", time.Since(start).Milliseconds())
}

// applyOnStep6 presses Apply once, some time after step 6 can apply.
func applyOnStep6(u *ui.UI, after time.Duration) {
	for {
		st := u.Wizard().State()
		if st.Step == wizard.StepApply && st.CanApply && st.Apply.Phase == wizard.ApplyIdle {
			time.Sleep(after)
			fyne.Do(u.Apply)
			for u.Wizard().State().Apply.Phase != wizard.ApplyRunning {
				time.Sleep(10 * time.Millisecond)
			}
			fmt.Fprintln(os.Stderr, "smoke: apply running")
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// reportSteps prints "smoke: step N" whenever the wizard enters step N, so
// that the smoke test can press Next until a step is reached instead of
// counting key presses, some of which a loaded host delivers while Next is
// still disabled.
func reportSteps(u *ui.UI) {
	last := wizard.Step(-1)
	for {
		if st := u.Wizard().State(); st.Step != last {
			last = st.Step
			fmt.Fprintf(os.Stderr, "smoke: step %d\n", int(last))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
