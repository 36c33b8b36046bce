package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/pvinject/pvinject/core/inject"
	"github.com/pvinject/pvinject/core/safety"
	"github.com/pvinject/pvinject/wizard"
)

type batchFlags struct {
	answers string
	jobs    int
}

// batchResult is one image's outcome in the summary table.
type batchResult struct {
	Image   string
	Output  string
	Status  string // ok, refused, failed
	Detail  string
	Elapsed time.Duration
}

// injectOne is the per-image work; tests replace it to inject failures.
var injectOne = func(ctx context.Context, req inject.Request) error {
	plan, err := inject.BuildPlan(ctx, nil, req)
	if err != nil {
		return err
	}
	rep, err := inject.Apply(ctx, plan, nil)
	if err != nil {
		return err
	}
	return notBootable(rep)
}

func batchCmd() *command {
	return &command{
		name:    "batch",
		summary: "apply one answer file to many images, N at a time",
		usage:   "--answers FILE [--jobs N] IMAGE...",
		help: `
Applies the same choices (an answer file saved by the wizard's last step) to
every IMAGE, --jobs at a time. Each image is planned, refused or injected and
verified on its own: one failure never stops or touches the others. Prints one
line per image as it finishes and a summary table at the end. In the answer
file, "output" may use {dir} and {name} (the image's folder and base name):
"output": "{dir}/{name}-kvm.qcow2". Exit status 0 when every image succeeded,
3 when the only failures were refusals, 1 otherwise.

To spread a lab over several machines, run one batch per machine with an
existing scheduler (see README: GNU parallel over ssh, or a Kubernetes Job).

Examples:
  pvinject batch --answers lab.json student*.qcow2
  pvinject batch --answers lab.json --jobs 4 /srv/lab/*.vhdx`,
		flags: func(fs *flag.FlagSet) any {
			f := &batchFlags{}
			fs.StringVar(&f.answers, "answers", "", "answer file saved by the wizard (required)")
			fs.IntVar(&f.jobs, "jobs", runtime.NumCPU(), "images processed at once")
			return f
		},
		run: runBatch,
	}
}

func runBatch(ctx context.Context, env *cliEnv, args []string) error {
	opts, images, err := parse(env, batchCmd(), args)
	if err != nil {
		return err
	}
	f := opts.(*batchFlags)
	if f.answers == "" {
		return usagef("--answers FILE is required")
	}
	if len(images) == 0 {
		return usagef("at least one IMAGE is required")
	}
	if f.jobs < 1 {
		return usagef("--jobs %d: want 1 or more", f.jobs)
	}
	a, err := wizard.LoadAnswers(f.answers)
	if err != nil {
		return usagef("%v", err)
	}
	if err := checkDistinctOutputs(a, images); err != nil {
		return err
	}
	if len(a.Adapters) > 0 && len(images) > 1 {
		return usagef("%s: the answer file sets the IP addresses of one virtual machine (adapters); %d images would all get them: remove adapters, and use \"keep_ip\": \"auto\" to give each guest its own settings back", f.answers, len(images))
	}

	results := make([]batchResult, len(images))
	var mu sync.Mutex // serialises progress lines
	sem := make(chan struct{}, f.jobs)
	var wg sync.WaitGroup
	for i, img := range images {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = batchOne(ctx, a, img)
			mu.Lock()
			r := results[i]
			fmt.Fprintf(env.stdout, "[%d/%d] %-7s %s %s\n", i+1, len(images), r.Status, r.Image, r.Detail)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return summarise(env, results)
}

// batchOne never panics the batch: a panic in one image's work is that
// image's failure.
func batchOne(ctx context.Context, a wizard.Answers, img string) (r batchResult) {
	start := time.Now()
	req := requestFromAnswers(a, img)
	r = batchResult{Image: img, Output: req.Output}
	if req.InPlace {
		r.Output = "(in place)"
	}
	defer func() {
		if p := recover(); p != nil {
			r.Status, r.Detail = "failed", fmt.Sprintf("internal error: %v", p)
		}
		r.Elapsed = time.Since(start).Round(10 * time.Millisecond)
	}()
	err := injectOne(ctx, req)
	var ref *safety.Refusal
	switch {
	case err == nil:
		r.Status, r.Detail = "ok", "injected and verified"
	case errors.Is(err, errNotBootable):
		r.Status, r.Detail = statusNotBootable, strings.ReplaceAll(err.Error(), "\n", " ")
	case errors.As(err, &ref):
		r.Status, r.Detail = "refused", strings.ReplaceAll(err.Error(), "\n", " ")
	default:
		r.Status, r.Detail = "failed", strings.ReplaceAll(err.Error(), "\n", " ")
	}
	return r
}

// checkDistinctOutputs stops a batch whose images would all write one file.
func checkDistinctOutputs(a wizard.Answers, images []string) error {
	if a.InPlace {
		return nil
	}
	seen := map[string]string{}
	for _, img := range images {
		out := a.OutputFor(img)
		if prev, ok := seen[out]; ok {
			return usagef("images %s and %s would both be written to %s: use {name} in the answer file's output", prev, img, out)
		}
		seen[out] = img
	}
	return nil
}

func summarise(env *cliEnv, results []batchResult) error {
	counts := map[string]int{}
	for _, r := range results {
		counts[r.Status]++
	}
	sorted := append([]batchResult(nil), results...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Status != "ok" && sorted[j].Status == "ok" })
	fmt.Fprintln(env.stdout)
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "IMAGE\tSTATUS\tTIME\tOUTPUT\tDETAIL")
	for _, r := range sorted {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Image, r.Status, r.Elapsed, r.Output, r.Detail)
	}
	tw.Flush()
	fmt.Fprintf(env.stdout, "\n%d images: %d ok, %d refused, %d failed", len(results), counts["ok"], counts["refused"], counts["failed"])
	if n := counts[statusNotBootable]; n > 0 {
		fmt.Fprintf(env.stdout, ", %d written but will not boot (roll them back or fix them before starting them)", n)
	}
	fmt.Fprintln(env.stdout)
	switch {
	case counts[statusNotBootable] > 0:
		return fmt.Errorf("batch: %d of %d images were written but will not boot", counts[statusNotBootable], len(results))
	case counts["failed"] > 0:
		return fmt.Errorf("batch: %d of %d images failed", counts["failed"]+counts["refused"], len(results))
	case counts["refused"] > 0:
		return &safety.Refusal{Subject: "batch", Reason: fmt.Sprintf("%d of %d images refused", counts["refused"], len(results)), Remedy: "see the table above for what to do with each"}
	}
	return nil
}
