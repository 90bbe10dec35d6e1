package main

// What the black-box tests (package main_test) need of the program
// itself: its exit codes, and its main for the guardian, which a server
// run in this process by run starts from the test binary.
const (
	ExitBadArguments    = exitBadArguments
	ExitBadFlags        = exitBadFlags
	ExitCannotStart     = exitCannotStart
	ExitConsoleConflict = exitConsoleConflict
)

// GuardianArgs are the arguments a guardian is started with.
var GuardianArgs = guardianArgs

// Main is the program's main.
var Main = main
