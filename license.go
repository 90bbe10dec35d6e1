package main

import (
	_ "embed"
	"fmt"

	"github.com/alecthomas/kong"
)

//go:embed LICENSE
var licenseText string

// licenseFlag is --license: it prints the licence and exits.
type licenseFlag bool

// BeforeApply prints the licence as soon as kong sees the flag.
func (licenseFlag) BeforeApply(app *kong.Kong) error {
	fmt.Fprint(app.Stdout, licenseText)
	app.Exit(0)
	return nil
}
