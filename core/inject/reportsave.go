package inject

import (
	"fmt"
	"os"
	"path/filepath"
)

// stagedReport is the report written in full to temporary names beside the
// image, synced, waiting to be renamed into place. Apply stages it before
// the injection's point of no return (sealing the journal), so that a full
// disk or any other failure while saving it rolls the image back instead of
// leaving an injected image with a cut-off report; the renames after the
// seal need no space.
type stagedReport struct {
	tmp, final []string
}

// stage renders and writes both reports to temporary names.
func (r *Report) stage() (*stagedReport, error) {
	r.ReportJSON = r.Plan.Target + ReportSuffix
	r.ReportHTML = r.Plan.Target + ReportHTMLSuffix
	js, err := r.JSON()
	if err != nil {
		return nil, fmt.Errorf("inject: report: %w", err)
	}
	html, err := r.HTML()
	if err != nil {
		return nil, err
	}
	s := &stagedReport{}
	for _, f := range []struct {
		path string
		data []byte
	}{{r.ReportJSON, js}, {r.ReportHTML, html}} {
		tmp := f.path + stagingSuffix
		s.tmp = append(s.tmp, tmp)
		s.final = append(s.final, f.path)
		if err := writeSynced(tmp, f.data); err != nil {
			s.discard()
			return nil, fmt.Errorf("inject: save report %s: %w", f.path, err)
		}
	}
	return s, nil
}

// stagingSuffix names a report being saved; Rollback removes leftovers.
const stagingSuffix = ".saving"

func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// commit renames the reports into place and syncs the folder.
func (s *stagedReport) commit() error {
	for i, tmp := range s.tmp {
		if err := os.Rename(tmp, s.final[i]); err != nil {
			return err
		}
	}
	if d, err := os.Open(filepath.Dir(s.final[0])); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// discard removes whatever was staged.
func (s *stagedReport) discard() {
	for _, tmp := range s.tmp {
		os.Remove(tmp) // best effort: Rollback removes leftovers too
	}
}

// Save writes IMAGE.pvinject-report.json and .html beside the image, each
// complete or not at all.
func (r *Report) Save() error {
	s, err := r.stage()
	if err != nil {
		return err
	}
	if err := s.commit(); err != nil {
		s.discard()
		return fmt.Errorf("inject: save report: %w", err)
	}
	return nil
}
