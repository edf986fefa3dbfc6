import { listen } from './listen';

// The ceiling: the least a node:http server can do for a request on this machine.
const body = Buffer.from('hello');
listen((_req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length }).end(body);
});
