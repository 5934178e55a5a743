/* libztintercept.so: LD_PRELOAD socket interception for ztnc network containers. */
