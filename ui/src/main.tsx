/** The web UI's entry point: renders the app into the page's #root. */
import { render } from 'preact';
import { App } from './app.js';

const root = document.getElementById('root');
if (root) render(<App />, root);
