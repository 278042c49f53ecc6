package htmlreport

import (
	_ "embed"
	"html/template"
)

//go:embed report.html.tmpl
var pageSource string

// pageTemplate is parsed once; html/template escapes every value it places,
// by context (text, attribute), so prompts and errors cannot make markup.
var pageTemplate = template.Must(template.New("report").Parse(pageSource))
