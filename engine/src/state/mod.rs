//! Live state of calls, agents, queues and trunks, built from AMI events.
