// Keeps the list on the page in step with the server without reloading.
// The list is built with textContent and createElement only: a like is
// untrusted text, and putting it into innerHTML would let it run as code.
(function () {
  "use strict";

  var list = document.getElementById("likes");
  var form = document.getElementById("like-form");
  var input = document.getElementById("like-input");
  var status = document.getElementById("status");
  var empty = document.getElementById("empty");

  function render(likes) {
    while (list.firstChild) {
      list.removeChild(list.firstChild);
    }
    likes.forEach(function (like) {
      var item = document.createElement("li");
      item.textContent = like;
      list.appendChild(item);
    });
    if (empty) {
      empty.hidden = likes.length > 0;
    }
  }

  function say(message) {
    status.textContent = message;
  }

  function readJson(response) {
    return response.json().then(function (body) {
      if (!response.ok) {
        throw new Error(body.error || "the server answered " + response.status);
      }
      return body;
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var like = input.value.trim();
    if (!like) {
      return;
    }
    fetch("/likes", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ likes: [like] })
    })
      .then(readJson)
      .then(function (body) {
        render(body.likes);
        input.value = "";
        say("Added.");
      })
      .catch(function (error) {
        say("Could not add that: " + error.message);
      });
  });

  fetch("/likes")
    .then(readJson)
    .then(function (body) { render(body.likes); })
    .catch(function (error) { say("Could not load the list: " + error.message); });
})();
