package inf

import (
	"fmt"
	"strings"
)

// Install is a resolved DDInstall section with its .Services and .HW parts.
type Install struct {
	Section    string // the decorated section actually used, e.g. scsi_inst.NTamd64
	CopyFiles  []FileCopy
	AddReg     []RegOp // software (driver) key
	DelReg     []RegOp
	HWAddReg   []RegOp // device hardware key (.HW), e.g. MSI settings
	HWDelReg   []RegOp
	Services   []Service
	KmdfNeeded bool // a .Wdf section names a KMDF service
}

// InstallSectionFor returns the DDInstall section Windows uses for base on
// arch: base.NT<arch>, then base.NT, then base.
func (f *File) InstallSectionFor(base string, arch Arch) (string, bool) {
	for _, n := range []string{base + ".NT" + string(arch), base + ".NT", base} {
		if s := f.Section(n); s != nil {
			return s.Name, true
		}
	}
	return "", false
}

// values returns every field of every line with the given key in sec
// (directives such as CopyFiles may repeat and list several sections).
func values(sec *Section, key string) []string {
	if sec == nil {
		return nil
	}
	var out []string
	for _, ln := range sec.Lines {
		if ln.HasKey && strings.EqualFold(ln.Key, key) {
			for _, v := range ln.Fields {
				if v = strings.TrimSpace(v); v != "" {
					out = append(out, v)
				}
			}
		}
	}
	return out
}

// Install resolves a model's install section for arch.
func (f *File) Install(base string, arch Arch) (*Install, error) {
	name, ok := f.InstallSectionFor(base, arch)
	if !ok {
		return nil, fmt.Errorf("%s: %w: install section [%s] (or .NT/.NT%s)", f.Name, ErrNoSection, base, arch)
	}
	sec := f.Section(name)
	in := &Install{Section: name}
	for _, ln := range sec.Lines {
		if ln.HasKey && (strings.EqualFold(ln.Key, "Include") || strings.EqualFold(ln.Key, "Needs")) {
			f.warn(lineMsg(ln.LineNo, fmt.Sprintf("[%s] %s=%s not followed: it names system INFs", name, ln.Key, strings.Join(ln.Fields, ","))))
		}
	}
	var err error
	if in.CopyFiles, err = f.copyFiles(values(sec, "CopyFiles"), arch); err != nil {
		return nil, err
	}
	if in.AddReg, err = f.regSections(values(sec, "AddReg"), false); err != nil {
		return nil, err
	}
	if in.DelReg, err = f.regSections(values(sec, "DelReg"), true); err != nil {
		return nil, err
	}
	if hw := f.Section(name + ".HW"); hw != nil {
		if in.HWAddReg, err = f.regSections(values(hw, "AddReg"), false); err != nil {
			return nil, err
		}
		if in.HWDelReg, err = f.regSections(values(hw, "DelReg"), true); err != nil {
			return nil, err
		}
	}
	if svc := f.Section(name + ".Services"); svc != nil {
		for _, ln := range svc.Lines {
			if !ln.HasKey || !strings.EqualFold(ln.Key, "AddService") {
				continue
			}
			s, err := f.addService(ln)
			if err != nil {
				return nil, err
			}
			in.Services = append(in.Services, s)
		}
	}
	if wdf := f.Section(name + ".Wdf"); wdf != nil && len(values(wdf, "KmdfService")) > 0 {
		in.KmdfNeeded = true
	}
	return in, nil
}

func (f *File) regSections(names []string, del bool) ([]RegOp, error) {
	var out []RegOp
	for _, n := range names {
		ops, err := f.RegSection(n, del)
		if err != nil {
			return nil, err
		}
		out = append(out, ops...)
	}
	return out, nil
}

// Service is an AddService directive with its service-install section.
type Service struct {
	Name           string
	Flags          uint32 // 0x2 = SPSVCINST_ASSOCSERVICE (the device's function driver)
	InstallSection string
	DisplayName    string
	Description    string
	ServiceType    uint32
	StartType      uint32
	ErrorControl   uint32
	ServiceBinary  string // as written after substitution, e.g. %12%\viostor.sys
	LoadOrderGroup string
	Dependencies   []string
	AddReg         []RegOp // applied to the service key (HKR = Services\<name>)
	DelReg         []RegOp
	EventLog       []RegOp // HKR = Services\EventLog\<type>\<name>
	EventLogType   string  // default "System"
}

// Associated reports SPSVCINST_ASSOCSERVICE: the device's function driver.
func (s Service) Associated() bool { return s.Flags&0x2 != 0 }

// ImagePath returns the registry ImagePath Windows writes for ServiceBinary:
// paths under %SystemRoot% become relative to it (what the kernel loader
// expects for boot drivers, e.g. System32\drivers\viostor.sys), others keep
// their resolved path. ok is false for a binary under an unknown dirid.
func (s Service) ImagePath() (string, bool) {
	p, ok := ResolveDirPath(s.ServiceBinary)
	if !ok {
		return s.ServiceBinary, false
	}
	if rest, cut := strings.CutPrefix(p, `Windows\`); cut {
		return rest, true
	}
	return p, true
}

// DriverFile is the base name of ServiceBinary.
func (s Service) DriverFile() string {
	b := s.ServiceBinary
	if i := strings.LastIndexAny(b, `\/`); i >= 0 {
		b = b[i+1:]
	}
	return b
}

func (f *File) addService(ln Line) (Service, error) {
	s := Service{Name: ln.Field(0), InstallSection: ln.Field(2), EventLogType: "System"}
	if s.Name == "" {
		return s, fmt.Errorf("%s: line %d: %w: AddService without a name", f.Name, ln.LineNo, ErrSyntax)
	}
	if v := ln.Field(1); v != "" {
		fl, err := parseNumber(v)
		if err != nil {
			return s, fmt.Errorf("%s: line %d: AddService flags: %w", f.Name, ln.LineNo, err)
		}
		s.Flags = fl
	}
	if t := ln.Field(4); t != "" {
		s.EventLogType = t
	}
	if s.InstallSection != "" {
		sec := f.Section(s.InstallSection)
		if sec == nil {
			return s, fmt.Errorf("%s: %w: service-install section [%s] for %s", f.Name, ErrNoSection, s.InstallSection, s.Name)
		}
		for _, l := range sec.Lines {
			if !l.HasKey {
				continue
			}
			val := strings.Join(l.Fields, ",")
			var err error
			switch strings.ToLower(l.Key) {
			case "displayname":
				s.DisplayName = val
			case "description":
				s.Description = val
			case "servicetype":
				s.ServiceType, err = parseNumber(val)
			case "starttype":
				s.StartType, err = parseNumber(val)
			case "errorcontrol":
				s.ErrorControl, err = parseNumber(val)
			case "servicebinary":
				s.ServiceBinary = val
			case "loadordergroup":
				s.LoadOrderGroup = val
			case "dependencies":
				s.Dependencies = append(s.Dependencies, l.Fields...)
			}
			if err != nil {
				return s, fmt.Errorf("%s: [%s] line %d %s: %w", f.Name, sec.Name, l.LineNo, l.Key, err)
			}
		}
		var err error
		if s.AddReg, err = f.regSections(values(sec, "AddReg"), false); err != nil {
			return s, err
		}
		if s.DelReg, err = f.regSections(values(sec, "DelReg"), true); err != nil {
			return s, err
		}
	}
	if el := ln.Field(3); el != "" {
		sec := f.Section(el)
		if sec == nil {
			return s, fmt.Errorf("%s: %w: event-log section [%s] for %s", f.Name, ErrNoSection, el, s.Name)
		}
		ops, err := f.regSections(values(sec, "AddReg"), false)
		if err != nil {
			return s, err
		}
		s.EventLog = ops
	}
	return s, nil
}
