<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>AJAX ListMaker</title>
  <link rel="stylesheet" href="/static/style.css">
</head>
<body>
  <main>
    <header>
      <img src="/static/logo.png" alt="" width="64" height="64" id="logo">
      <h1>AJAX ListMaker</h1>
    </header>
    <p>Things people like:</p>
    <ul id="likes">
      % for like in likes:
      <li>{{like}}</li>
      % end
    </ul>
    % if not likes:
    <p id="empty">Nothing yet. Add the first one!</p>
    % end
    <!-- Without JavaScript this posts a plain form; likes.js turns it into a JSON request. -->
    <form id="like-form" method="post" action="/likes">
      <label for="like-input">I like</label>
      <input id="like-input" name="likes" maxlength="200" autocomplete="off" required>
      <button type="submit">Add</button>
    </form>
    <p id="status" role="status" aria-live="polite"></p>
  </main>
  <footer>likes {{version}}</footer>
  <script src="/static/likes.js"></script>
</body>
</html>
