// Package wizard is the Fyne-free model of pvinject's six-step wizard: the
// steps, their state, what makes each one valid, and the rules for moving
// between them. The ui package renders it; tests drive it with plain
// `go test` against wizard/wizardtest.FakeEngine.
//
// The wizard talks to the core only through the narrow Engine interface and
// plain JSON-tagged summary types defined here, so the core can change shape
// without touching the screens. Nothing is written to an image until Apply is
// called on a plan the user has reviewed (left the Drivers step with Next).
//
// Concurrency: every exported method of Wizard is safe to call from any
// goroutine. Methods that call the Engine take a context, block, and must not
// be called from a UI thread; they hold no lock while the Engine works, and a
// result that arrives after the user changed an earlier choice is dropped.
package wizard
