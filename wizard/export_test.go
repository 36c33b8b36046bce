package wizard

// MaxAnswersSize exposes the answer-file bound to the external tests.
const MaxAnswersSize = maxAnswersSize

// EthernetHeader exposes the MTU offset to the external tests.
const EthernetHeader = ethernetHeader
