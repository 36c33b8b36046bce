package testenv

import (
	"sync"
	"time"
)

// Pause makes a race certain instead of hoping random delays produce it.
// Hook is a progress callback for the first run: at its first call (inside
// the run's lock, mid-write) it signals Writing and holds the run until
// Release is called, or a minute has passed, as a large image's run would
// stay in its lock. The second run starts on Writing and calls Release
// when it has finished.
type Pause struct {
	writing, done chan struct{}
	once, rel     sync.Once
}

// NewPause returns a pause not yet reached.
func NewPause() *Pause {
	return &Pause{writing: make(chan struct{}), done: make(chan struct{})}
}

// Hook is the first run's progress callback.
func (p *Pause) Hook(float64, string) {
	p.once.Do(func() {
		close(p.writing)
		select {
		case <-p.done:
		case <-time.After(time.Minute):
		}
	})
}

// Writing is closed once the first run is held mid-write.
func (p *Pause) Writing() <-chan struct{} { return p.writing }

// Release lets the first run go on.
func (p *Pause) Release() { p.rel.Do(func() { close(p.done) }) }
