import express from 'express';
import { listen } from './listen';

// express 5 with nothing in it: what the framework alone costs per request.
const app = express();
app.use((_req, res) => {
  res.send('hello');
});
listen(app);
