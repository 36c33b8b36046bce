// Package wizardtest holds the wizard's test double: FakeEngine, an
// in-memory Engine with a Windows 10 guest and plans for every driver set,
// for the wizard's and the screens' tests and the UI smoke program. It
// imports no core package, so screens tested with it stay free of the core.
package wizardtest
