#!/usr/bin/env node
/**
 * ztnc-fdkeeper --socket <path> --timeout-ms <n>: the fd keeper ztnc-service starts to hold apps'
 * listening sockets across its restarts (src/service/fd-keeper.ts). Not meant to be run by hand.
 * A program of its own so that it loads only what it needs.
 */
import { runFdKeeper } from '../service/fd-keeper.js';

await runFdKeeper();
